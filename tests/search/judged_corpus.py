"""A fixed corpus of a few hundred Liaocheng listings (聊城) for the judged query set
(``judged.yaml``): written as data — organisations, instruments, services, achievements,
demands — and put together by a seeded generator, so every run sees the same listings.

The judged set names listings by ``label``: the title, with the organisation's short
name for instruments and services (several organisations offer the same).
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from search import Document
from search.vocabulary import labels

SEED = 2026_11_25
BASE = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
A, E, N, C, Q = "assignment", "exclusive_licence", "non_exclusive_licence", "co_development", "equity"

# short name, full name, English name, county
ORGS = {
    "聊大测试中心": ("聊城大学分析测试中心", "Liaocheng University Analysis and Testing Center", "东昌府区"),
    "聊大材料": ("聊城大学材料科学与工程学院", "Liaocheng University School of Materials Science", "东昌府区"),
    "聊大化工": ("聊城大学化学化工学院", "Liaocheng University School of Chemistry and Chemical Engineering", "东昌府区"),
    "聊大药学": ("聊城大学药学院", "Liaocheng University School of Pharmacy", "东昌府区"),
    "聊大农学": ("聊城大学农学与农业工程学院", "Liaocheng University School of Agriculture", "东昌府区"),
    "聊大机械": ("聊城大学机械与汽车工程学院", "Liaocheng University School of Mechanical Engineering", "东昌府区"),
    "聊大计算机": ("聊城大学计算机学院", "Liaocheng University School of Computer Science", "东昌府区"),
    "市检测中心": ("聊城市检验检测中心", "Liaocheng Inspection and Testing Center", "东昌府区"),
    "市农科院": ("聊城市农业科学研究院", "Liaocheng Academy of Agricultural Sciences", "东昌府区"),
    "轴承质检": ("临清市轴承产品质量检验中心", "Linqing Bearing Quality Inspection Center", "临清市"),
    "烟店轴承院": ("临清市烟店轴承产业技术研究院", "Yandian Bearing Industry Research Institute", "临清市"),
    "茌平质检": ("茌平区产品质量检验所", "Chiping Product Quality Inspection Institute", "茌平区"),
    "信发": ("信发集团技术中心", "Xinfa Group Technology Center", "茌平区"),
    "东阿阿胶": ("东阿阿胶股份有限公司技术中心", "Dong-E E-Jiao Technology Center", "东阿县"),
    "东阿药检": ("东阿县食品药品检验所", "Dong'e Food and Drug Inspection Institute", "东阿县"),
    "鲁西化工": ("鲁西化工集团股份有限公司", "Luxi Chemical Group", "聊城高新技术产业开发区"),
    "中通客车": ("中通客车股份有限公司", "Zhongtong Bus Holding", "聊城经济技术开发区"),
    "时风": ("时风集团技术中心", "Shifeng Group Technology Center", "高唐县"),
    "莘县蔬菜": ("莘县蔬菜研究所", "Shenxian Vegetable Research Institute", "莘县"),
    "莘县农检": ("莘县农产品质量检测站", "Shenxian Agricultural Product Testing Station", "莘县"),
    "冠县农技": ("冠县农业技术推广中心", "Guanxian Agricultural Extension Center", "冠县"),
    "阳谷电缆": ("阳谷县电缆产业技术研究院", "Yanggu Cable Industry Research Institute", "阳谷县"),
    "阳谷检测": ("阳谷县检验检测中心", "Yanggu Inspection and Testing Center", "阳谷县"),
    "高唐纺织": ("高唐县纺织产业技术服务中心", "Gaotang Textile Technology Service Center", "高唐县"),
    "知识产权中心": ("聊城市知识产权服务中心", "Liaocheng Intellectual Property Service Center", "东昌府区"),
    "汇智专利": ("聊城汇智专利代理事务所", "Liaocheng Huizhi Patent Agency", "东昌府区"),
    "成果转化中心": ("聊城市科技成果转化服务中心", "Liaocheng Technology Transfer Center", "聊城高新技术产业开发区"),
    "环境监测": ("聊城市生态环境监测中心", "Liaocheng Ecological Environment Monitoring Center", "东昌府区"),
    "计量所": ("聊城市计量测试所", "Liaocheng Institute of Metrology", "东昌府区"),
    "经开区新能源院": ("聊城经开区新能源研究院", "Liaocheng EDZ New Energy Institute", "聊城经济技术开发区"),
    "度假区文旅": ("江北水城文旅科技有限公司", "Jiangbei Shuicheng Culture Tech", "江北水城旅游度假区"),
}

# instruments: (name, field, what it does, [orgs holding one], price per sample/hour in yuan)
INSTRUMENTS = [
    ("高效液相色谱仪", "生物医药", "药物含量测定、有关物质检测与方法开发，配紫外和荧光检测器", ["聊大测试中心", "聊大药学", "东阿药检"], 300),
    ("气相色谱-质谱联用仪", "节能环保", "挥发性有机物、农药残留与香精香料成分分析", ["聊大测试中心", "市检测中心"], 600),
    ("场发射扫描电子显微镜", "新材料", "金属断口、陶瓷与高分子材料微观形貌观察，配能谱仪", ["聊大测试中心", "聊大材料"], 500),
    ("透射电子显微镜", "新材料", "纳米材料晶格像与选区电子衍射", ["聊大材料"], 1200),
    ("X射线衍射仪", "新材料", "物相定性定量、晶粒尺寸与残余应力测定", ["聊大化工", "聊大材料"], 400),
    ("核磁共振波谱仪", "生物医药", "氢谱、碳谱与二维谱测试，用于有机物结构鉴定", ["聊大测试中心"], 800),
    ("电感耦合等离子体质谱仪", "节能环保", "土壤、水质与食品中痕量重金属元素测定", ["市检测中心", "茌平质检"], 700),
    ("原子吸收分光光度计", "检验检测", "火焰与石墨炉法测定金属元素", ["阳谷检测", "东阿药检"], 200),
    ("紫外可见分光光度计", "检验检测", "药品含量测定与水质常规指标分析", ["东阿药检", "莘县农检"], 80),
    ("傅里叶变换红外光谱仪", "精细化工", "有机官能团鉴定与高分子材料成分分析", ["聊大化工"], 200),
    ("万能材料试验机", "高端装备", "金属、塑料与复合材料拉伸、压缩、弯曲试验", ["茌平质检", "聊大机械"], 150),
    ("轴承疲劳寿命试验机", "高端装备", "滚动轴承疲劳寿命与振动噪声测试", ["轴承质检", "烟店轴承院"], 2500),
    ("三坐标测量机", "高端装备", "精密零部件形位公差与尺寸检测", ["轴承质检", "中通客车"], 400),
    ("圆度仪", "高端装备", "轴承套圈圆度、圆柱度测量", ["烟店轴承院"], 200),
    ("激光粒度分析仪", "新材料", "粉体粒径分布测试，适用于氧化铝、石墨等粉体", ["信发", "聊大材料"], 150),
    ("热重分析仪", "新材料", "材料热稳定性与组分含量分析", ["聊大化工"], 250),
    ("盐雾试验箱", "高端装备", "涂层与镀层耐腐蚀性能试验", ["中通客车", "阳谷电缆"], 100),
    ("高低温交变湿热试验箱", "新一代信息技术", "电子元器件与整车零部件环境适应性试验", ["中通客车"], 300),
    ("电缆局部放电测试系统", "高端装备", "中高压电缆局部放电与耐压试验", ["阳谷电缆"], 1500),
    ("纱线强力仪", "轻工纺织", "纱线断裂强力与伸长率测试", ["高唐纺织"], 50),
    ("农药残留快速检测仪", "现代农业", "蔬菜水果有机磷与氨基甲酸酯类农药残留快速筛查", ["莘县农检", "冠县农技"], 30),
    ("土壤养分速测仪", "现代农业", "土壤氮磷钾与有机质快速测定", ["冠县农技", "市农科院"], 40),
    ("实时荧光定量PCR仪", "生物医药", "基因表达分析与病原微生物检测", ["聊大农学", "东阿阿胶"], 300),
    ("阿胶DNA条形码鉴定系统", "生物医药", "驴皮及阿胶制品物种来源鉴定", ["东阿阿胶"], 800),
    ("三维激光扫描仪", "新一代信息技术", "文物与建筑三维数字化采集", ["度假区文旅"], 500),
]
INSTRUMENT_SUFFIX = ["开放共享", "机时预约", "对外开放", "共享服务"]

# services: (title stem, field, description, [orgs], price yuan)
SERVICES = [
    ("药品检验检测", "生物医药", "依据《中国药典》开展原料药、制剂与中药饮片检验，出具检验报告", ["东阿药检", "市检测中心"], 3000),
    ("食品安全检测", "检验检测", "食品理化指标、微生物与添加剂检测，出具CMA报告", ["市检测中心", "东阿药检", "阳谷检测"], 1500),
    ("农产品农药残留检测", "现代农业", "蔬菜、水果农残定量检测，服务莘县蔬菜基地与冠县果园", ["莘县农检", "冠县农技"], 500),
    ("土壤检测与测土配方施肥", "现代农业", "土壤养分、重金属测定，提供施肥方案", ["冠县农技", "市农科院"], 800),
    ("水质检测", "节能环保", "地表水、地下水与工业废水常规指标及重金属检测", ["环境监测", "市检测中心"], 1200),
    ("环境监测与环评检测", "节能环保", "废气、废水、噪声监测，建设项目竣工环保验收", ["环境监测"], 20000),
    ("轴承质量检验", "高端装备", "轴承尺寸精度、旋转精度、振动与寿命检验", ["轴承质检"], 2000),
    ("金属材料力学性能检测", "高端装备", "拉伸、冲击、硬度与金相检验", ["茌平质检", "轴承质检"], 600),
    ("电线电缆产品检验", "高端装备", "导体电阻、绝缘性能与燃烧性能检验", ["阳谷电缆", "阳谷检测"], 1500),
    ("计量校准", "检验检测", "压力表、天平、温度计等计量器具检定与校准", ["计量所"], 200),
    ("纺织品检测", "轻工纺织", "纤维含量、色牢度与甲醛含量检测", ["高唐纺织"], 400),
    ("材料失效分析", "新材料", "断口分析、金相分析与腐蚀产物鉴定，查明零件失效原因", ["聊大材料", "聊大测试中心"], 5000),
    ("分析方法开发与验证", "生物医药", "液相色谱、气相色谱分析方法开发、验证与转移", ["聊大测试中心", "聊大药学"], 12000),
    ("专利代理", "新一代信息技术", "发明专利、实用新型与外观设计申请代理，答复审查意见", ["汇智专利", "知识产权中心"], 5000),
    ("专利检索与分析", "新一代信息技术", "查新检索、专利导航与侵权风险分析", ["知识产权中心", "汇智专利"], 8000),
    ("知识产权贯标辅导", "新一代信息技术", "协助企业建立知识产权管理体系并通过认证", ["知识产权中心"], 30000),
    ("科技成果评价", None, "第三方科技成果评价，出具评价报告，助力申报科技奖励", ["成果转化中心"], 20000),
    ("技术合同认定登记咨询", None, "技术合同认定登记政策解读与材料准备，享受税收优惠", ["成果转化中心"], 0),
    ("高新技术企业认定辅导", None, "研发费用归集、知识产权梳理与申报材料准备", ["成果转化中心", "知识产权中心"], 10000),
    ("工业设计与样机开发", "高端装备", "客车、农用车产品工业设计、结构设计与快速样机", ["中通客车", "时风"], 80000),
    ("数控加工与精密磨削代工", "高端装备", "轴承套圈、精密零件数控车削与磨削加工", ["烟店轴承院"], 3000),
    ("化工工艺技术咨询", "精细化工", "化工工艺优化、安全评估与节能诊断", ["鲁西化工", "聊大化工"], 15000),
    ("企业技术培训", None, "液相色谱操作、质量管理与实验室安全培训", ["聊大测试中心", "市检测中心"], 2000),
    ("软件开发与数字化改造", "新一代信息技术", "MES系统实施、设备联网与数据可视化", ["聊大计算机"], 50000),
    ("文物数字化与展示", "新一代信息技术", "文物三维扫描、虚拟展厅与数字文创开发", ["度假区文旅"], 30000),
]
SERVICE_SUFFIX = ["服务", "（对外承接）", "服务（支持创新券）"]

# achievements: (title, field, description, org, modes, maturity, price yuan or None)
ACHIEVEMENTS = [
    ("一种高强度聚丙烯复合材料及其制备方法", "新材料", "以聚丙烯为基体加入改性玻璃纤维，拉伸强度提高40%，用于汽车内饰件，已获发明专利", "聊大材料", [A, N], None),
    ("可降解聚乳酸包装膜制备技术", "新材料", "聚乳酸共混增韧，薄膜断裂伸长率提高三倍，适用于食品包装", "聊大材料", [A, N, C], 250000),
    ("石墨烯改性防腐涂料", "新材料", "石墨烯片层阻隔腐蚀介质，盐雾试验超过2000小时，适用于钢结构与客车底盘", "聊大材料", [E, C], 800000),
    ("纳米二氧化钛可见光催化材料", "新材料", "可见光响应光催化剂，用于印染废水降解与室内空气净化", "聊大化工", [A, N, C], 400000),
    ("高纯氧化铝粉体制备工艺", "新材料", "拜耳法氧化铝深度除杂，纯度达到99.99%，用于锂电池隔膜涂覆", "信发", [C, Q], 3000000),
    ("铝合金轮毂低压铸造工艺", "高端装备", "改进浇注系统与冷却工艺，气孔缺陷显著减少，成品率提高到95%", "信发", [N, C], 1200000),
    ("电解铝余热回收发电技术", "节能环保", "利用电解槽侧壁余热发电与供暖，年节约标准煤两万吨", "信发", [C, Q], None),
    ("轴承套圈精密磨削技术", "高端装备", "提高轴承套圈圆度与表面质量，适用于高端精密轴承批量生产", "烟店轴承院", [A, N, C], 300000),
    ("轴承钢真空热处理工艺", "高端装备", "真空淬火与深冷处理结合，变形小，硬度均匀", "烟店轴承院", [A, E], 500000),
    ("风电主轴轴承设计技术", "高端装备", "大型风电主轴调心滚子轴承设计与寿命计算", "聊大机械", [E, C], 2000000),
    ("新能源客车整车控制器", "新能源", "自主研发整车控制器，适配纯电动与混合动力客车，已批量装车", "中通客车", [E, Q], 5000000),
    ("客车动力电池液冷热管理系统", "新能源", "电池包液冷板与温控策略，低温续航提升15%", "中通客车", [N, C], 2000000),
    ("氢燃料电池客车动力系统集成", "新能源", "燃料电池与动力电池能量管理，已完成示范运营", "中通客车", [C, Q], None),
    ("光伏组件清洗机器人", "新能源", "自主行走光伏板清洗机器人，节水节能，适用于大型光伏电站", "经开区新能源院", [A, Q], 900000),
    ("小麦玉米秸秆粉碎还田机", "现代农业", "一次作业完成秸秆粉碎与还田，适合鲁西平原，已获实用新型专利", "时风", [A], 80000),
    ("三轮农用车电动化改装技术", "新能源", "三轮农用车电驱动系统与电池布置方案", "时风", [A, N], 600000),
    ("蔬菜大棚物联网智能温控系统", "现代农业", "传感器采集温湿度，自动卷帘与通风，已在莘县推广三千亩", "莘县蔬菜", [N, C], 50000),
    ("黄瓜抗病新品种选育技术", "现代农业", "抗霜霉病黄瓜新品种，亩产提高两成", "莘县蔬菜", [E], 300000),
    ("设施番茄水肥一体化栽培技术", "现代农业", "滴灌水肥一体化，节水四成，减少化肥用量", "市农科院", [N], 20000),
    ("棉花高产栽培集成技术", "现代农业", "适合冠县、临清的棉花高产栽培与机械化采收技术", "市农科院", [N, C], 9000),
    ("冬枣保鲜贮藏技术", "现代农业", "气调保鲜与冷链贮藏，冬枣货架期延长一个月", "聊大农学", [A, N], 60000),
    ("阿胶低分子肽酶解制备技术", "生物医药", "酶解制备阿胶低分子肽，提高吸收率，可开发保健食品", "东阿阿胶", [E, C], 3000000),
    ("阿胶糕生产线自动化改造方案", "生物医药", "熬胶、切块、包装全流程自动化，人工减少一半", "东阿阿胶", [C], 1500000),
    ("中药提取物降血糖组合物", "生物医药", "从桑叶等中药中提取活性成分，动物实验降血糖效果显著，已获发明专利", "聊大药学", [A, E, N], 800000),
    ("药用辅料羟丙甲纤维素制备方法", "生物医药", "用于缓释片剂的药用辅料，已获发明专利", "聊大药学", [A], 700000),
    ("葡萄糖酸钙绿色合成工艺", "精细化工", "以淀粉为原料发酵制备葡萄糖酸，收率提高，废水减少", "聊大化工", [A, E], 600000),
    ("己内酰胺生产尾气回收技术", "精细化工", "尾气中环己酮回收利用，年增效益千万元", "鲁西化工", [N, C], None),
    ("化工园区污水脱氮除磷工艺", "节能环保", "生化与深度处理组合工艺，总氮稳定达标", "鲁西化工", [A, N, C], 1000000),
    ("氯碱装置节能改造技术", "节能环保", "离子膜电解槽节能改造，吨碱电耗下降", "鲁西化工", [C], None),
    ("基于机器视觉的钢材表面缺陷检测系统", "新一代信息技术", "深度学习识别钢材表面裂纹与划痕，每秒检测30帧，已登记软件著作权", "聊大计算机", [N, C], 150000),
    ("轴承外观缺陷智能检测装置", "高端装备", "工业相机与深度学习识别轴承外圈磕碰划伤，替代人工目检", "聊大计算机", [A, N], 200000),
    ("电缆绝缘老化在线监测系统", "高端装备", "局部放电传感与数据分析，提前预警电缆故障", "阳谷电缆", [N, C], 400000),
    ("高压电缆交联工艺优化", "高端装备", "交联度控制与排气工艺优化，提高绝缘可靠性", "阳谷电缆", [A], 700000),
    ("高支棉纱紧密纺技术", "轻工纺织", "紧密纺改造提高成纱强力，毛羽减少", "高唐纺织", [A, N], 300000),
    ("纺织印染废水深度处理技术", "节能环保", "臭氧催化氧化与膜分离组合，出水可回用", "聊大化工", [N, C], 500000),
    ("黑陶烧制工艺改良", None, "茌平黑陶传统工艺与现代窑炉结合，降低能耗与次品率", "度假区文旅", [C], None),
    ("运河文化数字展示系统", "新一代信息技术", "京杭运河聊城段历史场景三维复原与沉浸式展示", "度假区文旅", [N, C], 500000),
]

# demands: (title, field, description, org, modes, price yuan or None)
DEMANDS = [
    ("寻求液相色谱检测方法开发合作", "生物医药", "我公司需要开发某原料药有关物质液相检测方法，寻求高校合作", "东阿阿胶", [C], 50000),
    ("求购轴承钢热处理技术", "高端装备", "需要提高轴承钢淬火均匀性，降低变形，欢迎技术转让或合作", "烟店轴承院", [A, C], 200000),
    ("化工园区污水总氮超标治理需求", "节能环保", "污水厂总氮超标，寻求脱氮除磷工艺改造方案", "鲁西化工", [C], 1000000),
    ("寻求中药材规范化种植技术", "现代农业", "需要丹参、金银花规范化种植与病虫害防治技术", "冠县农技", [C], 20000),
    ("需要新型播种机专利转让", "现代农业", "寻求播种机、收获机相关专利转让或许可", "时风", [A, N], None),
    ("长期委托扫描电镜测试", "新材料", "每月约五十个涂层样品需要扫描电镜与能谱测试", "中通客车", [], 30000),
    ("寻求新能源汽车电机控制技术", "新能源", "希望与高校联合开发电机控制器，可作价入股", "中通客车", [C, Q], 3000000),
    ("复配食品添加剂检测需求", "检验检测", "需要对复配食品添加剂进行检测，长期合作", "东阿药检", [], 3000),
    ("阿胶产品保健功能评价需求", "生物医药", "需要开展动物实验与人群试食试验，评价保健功能", "东阿阿胶", [C], 100000),
    ("数字化车间改造方案征集", "新一代信息技术", "需要MES系统与设备联网方案，提升铝加工车间效率", "信发", [C], 500000),
    ("寻求秸秆综合利用技术", "现代农业", "玉米秸秆制备生物质颗粒燃料或饲料技术，可技术转让", "冠县农技", [A, E, N], 60000),
    ("共建检测实验室合作需求", "检验检测", "共建检测实验室，需要CNAS认可经验的合作方", "阳谷检测", [C], None),
    ("药物分析人员培训需求", "生物医药", "药物分析与液相色谱操作培训，十人左右", "东阿药检", [], 10000),
    ("电缆阻燃材料配方技术需求", "新材料", "寻求低烟无卤阻燃电缆料配方，欢迎专利许可", "阳谷电缆", [E, N], 400000),
    ("纺织品色牢度提升技术需求", "轻工纺织", "活性染料染色色牢度不足，寻求工艺改进", "高唐纺织", [C], 100000),
    ("大棚蔬菜病虫害绿色防控需求", "现代农业", "寻求生物农药与物理防控技术，减少化学农药使用", "莘县蔬菜", [C], 30000),
    ("求购氢燃料电池关键技术", "新能源", "寻求燃料电池电堆技术转让或作价入股合作", "经开区新能源院", [A, Q], 5000000),
    ("铝灰渣资源化利用技术需求", "节能环保", "电解铝灰渣无害化与资源化利用技术", "信发", [A, C], 800000),
    ("寻求轴承振动噪声检测设备", "高端装备", "需要采购或共享轴承振动测量仪器", "轴承质检", [], 150000),
    ("客车车身轻量化材料合作", "新材料", "寻求碳纤维复合材料车身部件联合开发", "中通客车", [C], 2000000),
    ("文旅数字藏品开发合作", "新一代信息技术", "寻求运河文化数字藏品策划与开发团队", "度假区文旅", [C], 200000),
    ("冬枣深加工技术需求", "现代农业", "寻求冬枣果脯、枣粉深加工技术，可技术转让", "冠县农技", [A], 80000),
]

# topics of the city's industries, each with a demand from an enterprise and an
# achievement from a research group: (topic, field, demanding org, offering org, modes)
TOPICS = [
    ("铝型材挤压模具寿命提升", "高端装备", "信发", "聊大机械", [A, N]),
    ("电解铝阳极炭块质量控制", "新材料", "信发", "聊大材料", [C]),
    ("轴承保持架注塑成型", "高端装备", "轴承质检", "聊大材料", [A]),
    ("轴承润滑脂国产化替代", "精细化工", "烟店轴承院", "聊大化工", [E, C]),
    ("客车空调节能控制", "新能源", "中通客车", "聊大机械", [N, C]),
    ("农用车变速箱降噪", "高端装备", "时风", "聊大机械", [A, C]),
    ("化肥缓释包膜", "精细化工", "鲁西化工", "聊大化工", [A, E]),
    ("聚碳酸酯阻燃改性", "新材料", "鲁西化工", "聊大材料", [N, C]),
    ("煤化工废水零排放", "节能环保", "鲁西化工", "聊大化工", [C, Q]),
    ("驴皮胶原蛋白提取", "生物医药", "东阿阿胶", "聊大药学", [E]),
    ("中药饮片快速鉴别", "生物医药", "东阿药检", "聊大药学", [N]),
    ("蔬菜采后预冷保鲜", "现代农业", "莘县蔬菜", "聊大农学", [A, N]),
    ("盐碱地小麦增产", "现代农业", "冠县农技", "市农科院", [N]),
    ("食用菌工厂化栽培", "现代农业", "莘县蔬菜", "市农科院", [A, C]),
    ("光伏电站智能运维", "新能源", "经开区新能源院", "聊大计算机", [N, C]),
    ("锂电池回收利用", "新能源", "经开区新能源院", "聊大化工", [A, Q]),
    ("电线电缆在线测径", "高端装备", "阳谷电缆", "聊大计算机", [A]),
    ("棉纺车间除尘节能", "轻工纺织", "高唐纺织", "聊大机械", [N]),
    ("纺织废料再生纤维", "轻工纺织", "高唐纺织", "聊大材料", [A, E]),
    ("钢结构焊缝无损检测", "高端装备", "茌平质检", "聊大机械", [N, C]),
    ("实验室信息管理系统", "新一代信息技术", "市检测中心", "聊大计算机", [N]),
    ("工业互联网设备预测性维护", "新一代信息技术", "中通客车", "聊大计算机", [C]),
    ("景区客流智能分析", "新一代信息技术", "度假区文旅", "聊大计算机", [N, C]),
    ("重金属污染土壤修复", "节能环保", "环境监测", "聊大化工", [A, C]),
    ("挥发性有机物治理", "节能环保", "鲁西化工", "聊大化工", [N, C]),
]
# the generic offer of every organisation
GENERIC = "技术咨询与合作对接"


def corpus() -> list[Document]:
    rnd = random.Random(SEED)
    rows = []  # (kind, title, body, org short, field, modes, price yuan|None)
    for name, field, what, orgs, price in INSTRUMENTS:
        for short in orgs:
            suffix = rnd.choice(INSTRUMENT_SUFFIX)
            title = f"{name}{suffix}"
            body = f"{ORGS[short][0]}{name}，{what}。可预约机时，提供样品前处理与数据解读。"
            rows.append(("instrument", title, body, short, field, [], price * rnd.choice((1, 1, 2))))
    for stem, field, what, orgs, price in SERVICES:
        for short in orgs:
            title = f"{stem}{rnd.choice(SERVICE_SUFFIX)}"
            body = f"{ORGS[short][0]}提供{stem}：{what}。周期短，可上门对接。"
            rows.append(("service", title, body, short, field, [], price or None))
    for title, field, what, short, modes, price in ACHIEVEMENTS:
        body = f"{what}。成果完成单位：{ORGS[short][0]}。"
        rows.append(("achievement", title, body, short, field, modes, price))
    for title, field, what, short, modes, price in DEMANDS:
        body = f"{what}。发布单位：{ORGS[short][0]}。"
        rows.append(("demand", title, body, short, field, modes, price))
    for topic, field, wants, offers, modes in TOPICS:
        rows.append(("demand", f"寻求{topic}技术合作", f"我单位在{topic}方面遇到难题，寻求高校院所联合攻关。"
                     f"发布单位：{ORGS[wants][0]}。", wants, field, [C], rnd.choice((None, 100000, 300000))))
        rows.append(("achievement", f"{topic}关键技术", f"{ORGS[offers][0]}研究团队完成的{topic}技术，"
                     "已完成中试验证，可提供技术指导。", offers, field, modes, rnd.choice((None, 200000, 500000))))
    for short, (full, _english, _county) in ORGS.items():
        rows.append(("service", GENERIC, f"{full}面向企业提供{GENERIC}，欢迎来电洽谈。", short,
                     None, [], None))
    docs = []
    counters: dict[str, int] = {}
    for _hours, (kind, title, body, short, field, modes, price) in enumerate(rows):
        counters[kind] = counters.get(kind, 0) + 1
        full, english, county = ORGS[short]
        # an achievement's IP kind, as its owner chose it on the form (the app adds its words)
        ip_kind = None
        if kind == "achievement":
            ip_kind = ("invention_patent" if "发明专利" in body else "utility_model" if "实用新型" in body
                       else "software_copyright" if "软件著作权" in body else "know_how")
        docs.append(Document(
            id=f"{kind}:{counters[kind]}", kind=kind, title=title, body=body, org_name=full, field=field,
            county=county, transfer_modes=list(modes), voucher_eligible=kind in ("instrument", "service")
            and rnd.random() < 0.7, price_fen=None if price is None else price * 100,
            published_at=BASE - timedelta(hours=rnd.randrange(24 * 300)),
            keywords=" / ".join(labels("ip_kind", ip_kind)), org_name_en=english,
        ))
    assert len({label(d) for d in docs}) == len(docs), "labels must be unique"
    return docs


SHORT = {full: short for short, (full, _, _) in ORGS.items()}


def label(doc: Document) -> str:
    """How judged.yaml names a listing: its title, and for an instrument or a service
    (several organisations offer the same) the organisation's short name: 水质检测服务（环境监测）."""
    if doc.kind in ("instrument", "service") and doc.org_name in SHORT:
        return f"{doc.title}（{SHORT[doc.org_name]}）"
    return doc.title
