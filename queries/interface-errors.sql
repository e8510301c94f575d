-- name: interface-errors
-- description: interfaces that have counted errors or dropped packets

SELECT name, rx_errors, rx_dropped, rx_over, rx_frame,
    tx_errors, tx_dropped, tx_over, tx_carrier, tx_collisions
FROM interfaces
WHERE rx_errors + rx_dropped + rx_over + rx_frame
    + tx_errors + tx_dropped + tx_over + tx_carrier + tx_collisions > 0
ORDER BY name;
