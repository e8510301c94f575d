-- name: top-tcp
-- description: netsql top header: TCP retransmits, listen overflows and drops per second (reads top's snapshot, snap.protocol_stats)
-- panel: TCP counters
-- show: header
-- counters: retrans_segs, listen_overflows, listen_drops
-- rank: 2

SELECT
    sum(iif(protocol = 'Tcp' AND name = 'RetransSegs', value, NULL)) AS retrans_segs,
    sum(iif(protocol = 'TcpExt' AND name = 'ListenOverflows', value, NULL)) AS listen_overflows,
    sum(iif(protocol = 'TcpExt' AND name = 'ListenDrops', value, NULL)) AS listen_drops
FROM snap.protocol_stats
WHERE protocol IN ('Tcp', 'TcpExt');
