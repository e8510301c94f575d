-- name: routes-by-table
-- description: routes per routing table and family, with how many are default routes

SELECT "table", family, count(*) AS routes, sum(prefix_len = 0) AS default_routes
FROM routes
GROUP BY "table", family
ORDER BY "table", family;
