-- name: top-interfaces
-- description: netsql top: per interface, bytes, packets, errors and drops per second (reads top's snapshot, snap.interfaces)
-- panel: Interfaces
-- keys: interface, _netns
-- counters: rx_bytes, tx_bytes, rx_packets, tx_packets, rx_errors, tx_errors, rx_dropped, tx_dropped
-- rank: 40

SELECT name AS interface, netns AS _netns, operstate AS state,
    rx_bytes, tx_bytes, rx_packets, tx_packets,
    rx_errors, tx_errors, rx_dropped, tx_dropped
FROM snap.interfaces
ORDER BY rx_bytes + tx_bytes DESC, name;
