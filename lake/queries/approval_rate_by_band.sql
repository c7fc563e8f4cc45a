SELECT f.dt                                   AS day,
       f.risk_band                            AS band,
       count(*)                               AS decisions,
       count(*) FILTER (WHERE f.approved)     AS approved,
       round(avg(f.approved::INTEGER), 4)     AS approval_rate
FROM fact_credit_decision f
JOIN dim_risk_band b USING (risk_band)
GROUP BY f.dt, f.risk_band, b.band_order
ORDER BY f.dt, b.band_order
