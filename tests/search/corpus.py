"""A fixed corpus of realistic Liaocheng listings (聊城) for the search tests."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from search import Document

BASE = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)

A, E, N, C, Q = "assignment", "exclusive_licence", "non_exclusive_licence", "co_development", "equity"

# (kind, title, body, org, field, county, modes, voucher, price_yuan|None, hours_before_BASE)
ROWS = [
    # --- instruments 仪器 ---
    ("instrument", "高端液相色谱仪检测服务", "Agilent 1260 高效液相色谱仪（HPLC），可开展药物含量测定、有关物质检测、方法开发与验证。", "聊城大学分析测试中心", "生物医药", "东昌府区", [], True, 800, 1),
    ("instrument", "扫描电镜（SEM）形貌分析", "场发射扫描电镜，分辨率1 nm，配能谱仪（EDS），适用于金属断口、陶瓷、高分子材料微观形貌观察。", "聊城大学材料科学与工程学院", "新材料", "东昌府区", [], True, 600, 2),
    ("instrument", "气相色谱-质谱联用仪 GC-MS", "岛津 GCMS-QP2020，可检测挥发性有机物、农药残留、香精香料成分。", "聊城市检验检测中心", "节能环保", "东昌府区", [], True, 1200, 3),
    ("instrument", "X射线衍射仪（XRD）物相分析", "布鲁克 D8 Advance，物相定性定量、晶粒尺寸、残余应力测定。", "聊城大学化学化工学院", "新材料", "东昌府区", [], True, 500, 4),
    ("instrument", "核磁共振波谱仪 NMR 400MHz", "布鲁克 400 兆核磁，氢谱、碳谱、二维谱测试，服务医药中间体结构鉴定。", "聊城大学分析测试中心", "生物医药", "东昌府区", [], True, 900, 5),
    ("instrument", "轴承疲劳寿命试验机", "可进行滚动轴承疲劳寿命、振动噪声检测，服务临清轴承产业集群。", "临清市轴承产品质量检验中心", "高端装备", "临清市", [], True, 3000, 6),
    ("instrument", "电感耦合等离子体质谱仪 ICP-MS", "痕量重金属元素检测，土壤、水质、食品中铅镉汞砷测定。", "茌平区产品质量检验所", "节能环保", "茌平区", [], False, 1500, 7),
    ("instrument", "Scanning electron microscope for failure analysis", "Field-emission SEM with EDS. Fracture surfaces, coatings and semiconductor packages.", "Liaocheng University Testing Center", "新材料", "东昌府区", [], True, 700, 8),
    ("instrument", "万能材料试验机（100kN）", "拉伸、压缩、弯曲试验，适用于金属材料、塑料、复合材料力学性能检测。", "茌平区产品质量检验所", "新材料", "茌平区", [], True, None, 9),
    ("instrument", "原子吸收光谱仪", "火焰与石墨炉法测定金属元素，食品、药品检测。", "阳谷县检验检测中心", "生物医药", "阳谷县", [], False, 300, 10),
    ("instrument", "紫外可见分光光度计", "药品含量测定、水质检测，价格实惠。", "东阿县食品药品检验所", "生物医药", "东阿县", [], True, 100, 11),
    ("instrument", "三坐标测量机", "精密零部件尺寸检测，服务汽车零部件与轴承企业。", "临清市轴承产品质量检验中心", "高端装备", "临清市", [], True, 2000, 12),
    # --- services 服务 ---
    ("service", "药品检验检测服务", "依据《中国药典》开展原料药、制剂检验，出具CMA检测报告。", "东阿县食品药品检验所", "生物医药", "东阿县", [], True, 5000, 13),
    ("service", "阿胶真伪鉴别与质量检测", "DNA条形码与液相色谱法鉴别阿胶真伪，检测重金属与微生物。", "东阿阿胶股份有限公司技术中心", "生物医药", "东阿县", [], True, 8000, 14),
    ("service", "知识产权贯标与专利布局咨询", "协助企业通过知识产权管理体系认证，开展专利检索、专利布局与高价值专利培育。", "聊城市知识产权服务中心", "电子信息", "东昌府区", [], True, 30000, 15),
    ("service", "专利代理服务", "发明专利、实用新型、外观设计申请代理，专利无效与复审。", "聊城汇智专利代理事务所", "电子信息", "东昌府区", [], False, 6000, 16),
    ("service", "科技成果评价服务", "第三方科技成果评价，出具评价报告，助力申报科技奖励。", "聊城市科技成果转化服务中心", None, "聊城高新区", [], True, 20000, 17),
    ("service", "农产品质量安全检测", "蔬菜农药残留快速检测与实验室确证检测，服务莘县蔬菜基地。", "莘县农产品质量检测站", "现代农业", "莘县", [], True, 200, 18),
    ("service", "土壤检测与测土配方施肥", "土壤养分、重金属检测，提供测土配方施肥方案。", "冠县农业技术推广中心", "现代农业", "冠县", [], True, None, 19),
    ("service", "工业设计与样机开发", "为客车、农用车企业提供工业设计、结构设计与快速样机开发。", "中通客车股份有限公司设计院", "高端装备", "东昌府区", [], False, 150000, 20),
    ("service", "Bearing vibration testing service", "Vibration and noise testing for rolling bearings to ISO 15242.", "Linqing Bearing Quality Inspection Center", "高端装备", "临清市", [], True, 1500, 21),
    ("service", "HPLC method development and validation", "Method development, validation and transfer for pharmaceutical QC labs. hplc-uv and LC-MS.", "Liaocheng University Testing Center", "生物医药", "东昌府区", [], True, 12000, 22),
    ("service", "环境监测与环评检测", "废水、废气、噪声监测，建设项目竣工环保验收检测。", "聊城市生态环境监测中心", "节能环保", "东昌府区", [], False, 25000, 23),
    ("service", "高新技术企业认定辅导", "高企认定政策解读、研发费用归集辅导与申报材料准备。", "聊城市科技成果转化服务中心", None, "聊城经济技术开发区", [], True, 10000, 24),
    ("service", "<script>alert('x')</script> 特殊字符测试服务", "标题含有 <b>HTML</b> 与 & 符号，用于检查转义。", "测试机构 & Co.", None, "东昌府区", [], False, 1, 25),
    # --- achievements 成果 ---
    ("achievement", "一种高强度聚丙烯复合材料及其制备方法", "发明专利。以聚丙烯为基体，加入改性玻璃纤维，拉伸强度提高40%，可用于汽车零部件。", "聊城大学材料科学与工程学院", "新材料", "东昌府区", [A, N], True, 500000, 26),
    ("achievement", "阿胶低分子肽制备技术", "酶解制备阿胶低分子肽，提高吸收率，可开发保健食品与药品。", "东阿阿胶股份有限公司技术中心", "生物医药", "东阿县", [E, C], False, 3000000, 27),
    ("achievement", "一种中药提取物及其在降血糖中的应用", "发明专利，从中药中提取活性成分，动物实验显示降血糖效果显著。", "聊城大学生命科学学院", "生物医药", "东昌府区", [A, E, N], True, 800000, 28),
    ("achievement", "铝合金轮毂低压铸造工艺", "改进低压铸造工艺，减少气孔缺陷，成品率提高到95%。", "信发集团技术中心", "新材料", "茌平区", [N, C], False, 1200000, 29),
    ("achievement", "电解铝余热回收利用技术", "利用电解槽侧壁余热发电与供暖，节能减排效果显著。", "信发集团技术中心", "节能环保", "茌平区", [C, Q], False, None, 30),
    ("achievement", "新能源客车整车控制器", "自主研发的整车控制器（VCU），适配纯电动与混合动力客车。", "中通客车股份有限公司", "新能源", "东昌府区", [E, Q], False, 5000000, 31),
    ("achievement", "轴承套圈精密磨削技术", "提高轴承套圈圆度与表面质量，适用于高端精密轴承。", "临清市烟店轴承产业技术研究院", "高端装备", "临清市", [A, N, C], True, 300000, 32),
    ("achievement", "小麦玉米秸秆还田机", "实用新型专利，一次作业完成粉碎与还田，适合鲁西平原。", "时风集团技术中心", "现代农业", "高唐县", [A], True, 80000, 33),
    ("achievement", "Biodegradable PLA composite film", "Patent. Polylactic acid film with improved toughness for food packaging. PLA, biodegradable.", "Liaocheng University School of Materials", "新材料", "东昌府区", [A, N], True, 250000, 34),
    ("achievement", "基于机器视觉的钢材表面缺陷检测系统", "软件著作权与发明专利，深度学习识别钢材表面裂纹、划痕，检测速度每秒30帧。", "聊城大学计算机学院", "电子信息", "东昌府区", [N, C], True, 150000, 35),
    ("achievement", "葡萄糖酸钙绿色合成工艺", "以淀粉为原料发酵制备葡萄糖酸，收率提高，废水减少。", "聊城大学化学化工学院", "生物医药", "东昌府区", [A, E], False, 600000, 36),
    ("achievement", "一种蔬菜大棚智能温控系统", "物联网传感器与自动卷帘控制，已在莘县推广。", "莘县蔬菜研究所", "现代农业", "莘县", [N], True, 50000, 37),
    ("achievement", "棉花高产栽培技术", "适合冠县、临清的棉花高产栽培集成技术。", "聊城市农业科学研究院", "现代农业", "冠县", [N, C], True, 9000, 38),
    ("achievement", "Lithium battery thermal management for buses", "Liquid cooling thermal management for electric bus battery packs. Patent pending.", "Zhongtong Bus Holding R&D", "新能源", "东昌府区", [E, C], False, 2000000, 39),
    ("achievement", "纳米二氧化钛光催化材料", "可见光响应光催化材料，用于废水降解与空气净化。", "聊城大学化学化工学院", "新材料", "东昌府区", [A, N, C], True, 400000, 40),
    ("achievement", "药用辅料羟丙甲纤维素制备方法", "发明专利，用于缓释片剂的药用辅料。", "聊城大学药学院", "生物医药", "东昌府区", [A], True, 700000, 41),
    ("achievement", "黑陶烧制工艺改良", "茌平黑陶传统工艺与现代窑炉结合，降低能耗。", "茌平区黑陶文化研究所", None, "茌平区", [C], False, None, 42),
    ("achievement", "光伏组件清洗机器人", "自主行走的光伏板清洗机器人，节水节能。", "聊城经开区新能源研究院", "新能源", "聊城经济技术开发区", [A, Q], True, 900000, 43),
    # --- demands 需求 ---
    ("demand", "求购：液相色谱检测方法开发", "我公司需要开发某原料药有关物质液相检测方法，寻求高校合作。", "山东鲁西药业有限公司", "生物医药", "东昌府区", [C], True, 50000, 44),
    ("demand", "寻求轴承钢热处理技术", "需要提高轴承钢淬火均匀性，降低变形，欢迎技术合作。", "临清市某轴承有限公司", "高端装备", "临清市", [A, C], True, 200000, 45),
    ("demand", "需求：污水处理脱氮除磷技术", "化工园区污水厂总氮超标，寻求脱氮除磷工艺改造方案。", "鲁西化工集团", "节能环保", "东昌府区", [C], False, 1000000, 46),
    ("demand", "寻求中药材种植技术支持", "需要丹参、金银花规范化种植技术与病虫害防治。", "阳谷县中药材种植合作社", "现代农业", "阳谷县", [C], True, 20000, 47),
    ("demand", "需要专利转让：新型农机具", "寻求播种机、收获机相关专利转让或许可。", "高唐县农机制造有限公司", "现代农业", "高唐县", [A, N], False, None, 48),
    ("demand", "Looking for SEM testing partner", "We need regular SEM and EDS testing of coatings, monthly volume about 50 samples.", "Gaotang Coating Co.", "新材料", "高唐县", [], False, 30000, 49),
    ("demand", "寻求新能源汽车电机控制技术", "希望与高校合作开发电机控制器，可作价入股。", "聊城某新能源汽车有限公司", "新能源", "聊城高新区", [C, Q], False, 3000000, 50),
    ("demand", "求检测：食品添加剂检测", "需要对复配食品添加剂进行检测，长期合作。", "东阿县某食品有限公司", "生物医药", "东阿县", [], True, 3000, 51),
    ("demand", "寻求阿胶产品保健功能评价", "需要开展动物实验与人群试食试验，评价保健功能。", "东阿县某阿胶企业", "生物医药", "东阿县", [C], True, 100000, 52),
    ("demand", "数字化车间改造方案", "需要MES系统与设备联网方案，提升生产效率。", "茌平区某铝业公司", "电子信息", "茌平区", [C], True, 500000, 53),
    ("demand", "寻求秸秆综合利用技术", "玉米秸秆制备生物质颗粒燃料或饲料技术。", "冠县某农业公司", "现代农业", "冠县", [A, E, N], True, 60000, 54),
    ("demand", "寻找检测实验室共建合作", "共建检测实验室，需要CNAS认可经验。", "聊城高新区某企业", None, "聊城高新区", [C], False, None, 55),
    ("demand", "需要药物分析人员培训", "药物分析、液相色谱操作培训，10人左右。", "阳谷县某制药企业", "生物医药", "阳谷县", [], True, 10000, 56),
    ("demand", "Need semiconductor packaging reliability tests", "Temperature cycling and HAST for semiconductor packages. No SEM required.", "Liaocheng Hi-tech Electronics", "电子信息", "聊城高新区", [], False, 80000, 57),
    # same publication time as the previous row: the id breaks the tie
    ("demand", "寻求电镜检测合作", "需要扫描电镜检测粉体粒径与形貌。", "东昌府区某粉体公司", "新材料", "东昌府区", [], True, 5000, 57),
    ("achievement", "一种检测装置", "实用新型专利：便携式检测装置。", "聊城大学物理科学与信息工程学院", "电子信息", "东昌府区", [A], True, 30000, 57),
]


def corpus() -> list[Document]:
    docs = []
    counters: dict[str, int] = {}
    for kind, title, body, org, field, county, modes, voucher, price_yuan, hours in ROWS:
        counters[kind] = counters.get(kind, 0) + 1
        docs.append(Document(
            id=f"{kind}:{counters[kind]}",
            kind=kind,
            title=title,
            body=body,
            org_name=org,
            field=field,
            county=county,
            transfer_modes=list(modes),
            voucher_eligible=voucher,
            price_fen=None if price_yuan is None else price_yuan * 100,
            published_at=BASE - timedelta(hours=hours),
        ))
    return docs


def reindexed(tmp_path, base: list[Document] | None = None):
    """An embedded index at ``tmp_path`` reindexed from ``base`` (the corpus by default):
    (path, the backend that wrote it, the documents, the documents by id)."""
    from search.fts5 import EmbeddedBackend

    path = tmp_path / "search.sqlite3"
    backend = EmbeddedBackend(path)
    backend.ensure_index()
    base = corpus() if base is None else base
    backend.reindex(base)
    return path, backend, base, {d.id: d for d in base}
