-- Grafana's PostgreSQL data source, from its own source (grafana/grafana,
-- public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts at commit
-- 12f912ab8d010f4d95a4043a0efaa20fc4ca0100, called from datasource.ts and
-- configuration/useAutoDetectFeatures.ts): the version probe and the TimescaleDB probe the
-- configuration page sends, the query builder's table list (no schema chosen) and its column
-- lists for tables as that list names them (`orders`, `big_orders`, `sales.regions`).
-- Instantiated by hand with the template's own quoting; the health check is a pgx Ping, which
-- sends no SQL. The macros are left out.
--- grafana version probe
SELECT current_setting('server_version_num')::int/100 as version
--- grafana timescaledb probe
SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'
--- grafana query builder tables
SELECT
    CASE WHEN
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS "table"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
    ORDER BY CASE WHEN
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          ) THEN 0 ELSE 1 END, 1
--- grafana query builder columns orders
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('orders'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('orders'))[1]
          AND quote_ident(table_name) = (parse_ident('orders'))[2]
        ELSE quote_ident(table_name) = 'orders'
          AND
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END
--- grafana query builder columns sales.regions
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('sales.regions'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('sales.regions'))[1]
          AND quote_ident(table_name) = (parse_ident('sales.regions'))[2]
        ELSE quote_ident(table_name) = 'sales.regions'
          AND
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END
--- grafana query builder columns big_orders
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('big_orders'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('big_orders'))[1]
          AND quote_ident(table_name) = (parse_ident('big_orders'))[2]
        ELSE quote_ident(table_name) = 'big_orders'
          AND
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END
