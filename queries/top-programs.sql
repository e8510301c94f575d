-- name: top-programs
-- description: netsql top: per program, connections, listeners, CLOSE_WAIT, queues, retransmits and bytes per second (reads top's snapshot)
-- panel: Programs
-- keys: program
-- drill: top-program-sockets
-- rank: 10
--
-- The *_per_s columns of snap.sockets are each socket's counter change
-- since the previous refresh, per second (a socket opened since then
-- counts from zero); summing them gives a program's bandwidth without
-- packet capture. They are NULL on the first refresh.

-- Summed per program first (sockets come from the snapshot in program
-- order, so no sort of every socket), then merged with ifnull.
SELECT ifnull(program, '(unknown)') AS program,
    sum(conns) AS conns,
    sum(listen) AS listen,
    sum(close_wait) AS close_wait,
    sum(recv_q) AS recv_q,
    sum(send_q) AS send_q,
    sum(retrans_s) AS retrans_s,
    sum(in_bps) AS in_bps,
    sum(out_bps) AS out_bps
FROM (SELECT program,
        count(*) FILTER (WHERE state NOT IN ('LISTEN', 'UNCONN')) AS conns,
        count(*) FILTER (WHERE state = 'LISTEN' OR state = 'UNCONN' AND local_port != 0) AS listen,
        count(*) FILTER (WHERE state = 'CLOSE_WAIT') AS close_wait,
        sum(recv_q) AS recv_q,
        sum(send_q) AS send_q,
        sum(total_retrans_per_s) AS retrans_s,
        sum(bytes_received_per_s) AS in_bps,
        sum(bytes_sent_per_s) AS out_bps
    FROM snap.sockets
    WHERE family IN ('inet', 'inet6')
    GROUP BY program)
GROUP BY 1
ORDER BY ifnull(sum(in_bps), 0) + ifnull(sum(out_bps), 0) DESC, conns DESC, program;
