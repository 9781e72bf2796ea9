"""Innovation vouchers (创新券) as the province and the city run them: applications (申领),
vouchers with a balance, provider admission (入库), reservation at order time, delivery and
acceptance (验收), redemption (兑现) in batches per provider and month, ratings."""
