-- name: conntrack-full
-- description: the conntrack table when it is fuller than :percent % of nf_conntrack_max, or has dropped packets for lack of room (for --fail-on-rows alerts)
-- param: percent=90 report the table when its fill is above this percentage of its limit

SELECT count, max, round(100.0 * count / max, 1) AS fill_pct, dropped, early_drop
FROM conntrack_stats
WHERE max > 0 AND (100.0 * count / max > :percent OR dropped > 0);
