-- name: interface-counters
-- description: every interface's state and packet, byte, error and drop counters

SELECT name, operstate, up, rx_bytes, rx_packets, rx_errors, rx_dropped,
    tx_bytes, tx_packets, tx_errors, tx_dropped
FROM interfaces
ORDER BY name;
