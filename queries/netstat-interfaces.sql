-- name: netstat-interfaces
-- description: the interface table exactly as netstat -i prints it
-- netstat: netstat -i [-a] [-c]
-- format: raw
-- param: all=0 list interfaces that are down too (-a)
-- param: iteration=0 which pass of -c this is: the title prints on the first only
--
-- netstat lists interfaces sorted by name as net-tools' nstrcmp does (the
-- netstat_if collation: eth2 before eth10), only those that are up unless -a.

SELECT 'Kernel Interface table' WHERE :iteration = 0;

SELECT 'Iface             MTU    RX-OK RX-ERR RX-DRP RX-OVR    TX-OK TX-ERR TX-DRP TX-OVR Flg';

SELECT printf('%-15.15s %5d %8d %6d %6d %-6d %8d %6d %6d %6d %s', name, mtu,
        rx_packets, rx_errors, rx_dropped, rx_over,
        tx_packets, tx_errors, tx_dropped, tx_over,
        iif(flags = '', '[NO FLAGS]', flags))
FROM interfaces
WHERE up OR :all
ORDER BY name COLLATE netstat_if;
