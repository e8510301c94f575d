-- name: listening
-- description: listening TCP ports and bound UDP ports with the programs holding them

SELECT proto, local_address, local_port, program, pid, count(*) AS sockets
FROM sockets
WHERE (protocol = 'tcp' AND state = 'LISTEN')
   OR (protocol = 'udp' AND state = 'UNCONN' AND local_port != 0)
GROUP BY proto, local_address, local_port, pid, program
ORDER BY local_port, proto, local_address, pid;
