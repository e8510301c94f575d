-- name: metric-conntrack
-- description: Prometheus: conntrack table fill (count / max) and the counters that show it overflowing
-- metric: netsql_conntrack_fill_ratio
-- type: gauge
-- help: Conntrack entries over the table's limit (nf_conntrack_count / nf_conntrack_max); at 1 new flows are dropped.
-- value: fill_ratio
-- metric: netsql_conntrack_entries
-- type: gauge
-- help: Conntrack entries in the table (nf_conntrack_count).
-- value: entries
-- metric: netsql_conntrack_max_entries
-- type: gauge
-- help: The conntrack table's limit (nf_conntrack_max).
-- value: max_entries
-- metric: netsql_conntrack_dropped_total
-- type: counter
-- help: Packets dropped because no conntrack entry could be made (conntrack -S drop).
-- value: dropped
-- metric: netsql_conntrack_early_dropped_total
-- type: counter
-- help: Conntrack entries evicted to make room in a full table (conntrack -S early_drop).
-- value: early_dropped
-- metric: netsql_conntrack_insert_failed_total
-- type: counter
-- help: Conntrack entries that could not be inserted (conntrack -S insert_failed).
-- value: insert_failed

SELECT CAST(count AS REAL) / max AS fill_ratio, count AS entries, max AS max_entries,
       dropped, early_drop AS early_dropped, insert_failed
FROM conntrack_stats
WHERE max > 0;
