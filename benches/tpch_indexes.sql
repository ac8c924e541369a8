-- PostgreSQL only, after the TPC-H load (not part of its time): the primary keys, and
-- the index on lineitem that the correlated subqueries of Q17 and Q20 need. Without
-- them PostgreSQL runs those subqueries as a scan of lineitem per outer row, for hours
-- at scale 1; a PostgreSQL user would create them. DuckDB needs none.
ALTER TABLE region ADD PRIMARY KEY (r_regionkey);
ALTER TABLE nation ADD PRIMARY KEY (n_nationkey);
ALTER TABLE supplier ADD PRIMARY KEY (s_suppkey);
ALTER TABLE customer ADD PRIMARY KEY (c_custkey);
ALTER TABLE part ADD PRIMARY KEY (p_partkey);
ALTER TABLE partsupp ADD PRIMARY KEY (ps_partkey, ps_suppkey);
ALTER TABLE orders ADD PRIMARY KEY (o_orderkey);
ALTER TABLE lineitem ADD PRIMARY KEY (l_orderkey, l_linenumber);
CREATE INDEX ON lineitem (l_partkey, l_suppkey);
CREATE INDEX ON orders (o_custkey);
ANALYZE;
