//! PostgreSQL 15 catalog relations that hold no rows in mallard (no partitions, rules,
//! policies, triggers, publications, user functions...), with their columns as
//! PostgreSQL 15 has them (read from its `pg_attribute`). They exist, so that clients
//! that join on them get the empty answer PostgreSQL gives a database that uses none.

/// `(relation, "column type, ...")`.
pub(super) const EMPTY_RELATIONS: &[(&str, &str)] = &[
    ("pg_inherits", r#"inhrelid oid, inhparent oid, inhseqno integer, inhdetachpending boolean"#),
    (
        "pg_partitioned_table",
        r#"partrelid oid, partstrat "char", partnatts smallint, partdefid oid, partattrs int2vector, partclass oidvector, partcollation oidvector, partexprs pg_node_tree"#,
    ),
    (
        "pg_policy",
        r#"oid oid, polname name, polrelid oid, polcmd "char", polpermissive boolean, polroles oid[], polqual pg_node_tree, polwithcheck pg_node_tree"#,
    ),
    (
        "pg_trigger",
        r#"oid oid, tgrelid oid, tgparentid oid, tgname name, tgfoid oid, tgtype smallint, tgenabled "char", tgisinternal boolean, tgconstrrelid oid, tgconstrindid oid, tgconstraint oid, tgdeferrable boolean, tginitdeferred boolean, tgnargs smallint, tgattr int2vector, tgargs bytea, tgqual pg_node_tree, tgoldtable name, tgnewtable name"#,
    ),
    (
        "pg_rewrite",
        r#"oid oid, rulename name, ev_class oid, ev_type "char", ev_enabled "char", is_instead boolean, ev_qual pg_node_tree, ev_action pg_node_tree"#,
    ),
    ("pg_foreign_table", r#"ftrelid oid, ftserver oid, ftoptions text[]"#),
    (
        "pg_foreign_server",
        r#"oid oid, srvname name, srvowner oid, srvfdw oid, srvtype text, srvversion text, srvacl aclitem[], srvoptions text[]"#,
    ),
    (
        "pg_foreign_data_wrapper",
        r#"oid oid, fdwname name, fdwowner oid, fdwhandler oid, fdwvalidator oid, fdwacl aclitem[], fdwoptions text[]"#,
    ),
    ("pg_enum", r#"oid oid, enumtypid oid, enumsortorder real, enumlabel name"#),
    (
        "pg_depend",
        r#"classid oid, objid oid, objsubid integer, refclassid oid, refobjid oid, refobjsubid integer, deptype "char""#,
    ),
    (
        "pg_shdepend",
        r#"dbid oid, classid oid, objid oid, objsubid integer, refclassid oid, refobjid oid, deptype "char""#,
    ),
    (
        "pg_event_trigger",
        r#"oid oid, evtname name, evtevent name, evtowner oid, evtfoid oid, evtenabled "char", evttags text[]"#,
    ),
    (
        "pg_cast",
        r#"oid oid, castsource oid, casttarget oid, castfunc oid, castcontext "char", castmethod "char""#,
    ),
    (
        "pg_operator",
        r#"oid oid, oprname name, oprnamespace oid, oprowner oid, oprkind "char", oprcanmerge boolean, oprcanhash boolean, oprleft oid, oprright oid, oprresult oid, oprcom oid, oprnegate oid, oprcode regproc, oprrest regproc, oprjoin regproc"#,
    ),
    (
        "pg_opclass",
        r#"oid oid, opcmethod oid, opcname name, opcnamespace oid, opcowner oid, opcfamily oid, opcintype oid, opcdefault boolean, opckeytype oid"#,
    ),
    ("pg_opfamily", r#"oid oid, opfmethod oid, opfname name, opfnamespace oid, opfowner oid"#),
    (
        "pg_amop",
        r#"oid oid, amopfamily oid, amoplefttype oid, amoprighttype oid, amopstrategy smallint, amoppurpose "char", amopopr oid, amopmethod oid, amopsortfamily oid"#,
    ),
    (
        "pg_amproc",
        r#"oid oid, amprocfamily oid, amproclefttype oid, amprocrighttype oid, amprocnum smallint, amproc regproc"#,
    ),
    (
        "pg_range",
        r#"rngtypid oid, rngsubtype oid, rngmultitypid oid, rngcollation oid, rngsubopc oid, rngcanonical regproc, rngsubdiff regproc"#,
    ),
    ("pg_auth_members", r#"roleid oid, member oid, grantor oid, admin_option boolean"#),
    ("pg_shdescription", r#"objoid oid, classoid oid, description text"#),
    (
        "pg_statistic_ext",
        r#"oid oid, stxrelid oid, stxname name, stxnamespace oid, stxowner oid, stxstattarget integer, stxkeys int2vector, stxkind "char"[], stxexprs pg_node_tree"#,
    ),
    (
        "pg_publication",
        r#"oid oid, pubname name, pubowner oid, puballtables boolean, pubinsert boolean, pubupdate boolean, pubdelete boolean, pubtruncate boolean, pubviaroot boolean"#,
    ),
    ("pg_publication_rel", r#"oid oid, prpubid oid, prrelid oid, prqual pg_node_tree, prattrs int2vector"#),
    ("pg_publication_namespace", r#"oid oid, pnpubid oid, pnnspid oid"#),
    (
        "pg_subscription",
        r#"oid oid, subdbid oid, subskiplsn pg_lsn, subname name, subowner oid, subenabled boolean, subbinary boolean, substream boolean, subtwophasestate "char", subdisableonerr boolean, subconninfo text, subslotname name, subsynccommit text, subpublications text[]"#,
    ),
    (
        "pg_aggregate",
        r#"aggfnoid regproc, aggkind "char", aggnumdirectargs smallint, aggtransfn regproc, aggfinalfn regproc, aggcombinefn regproc, aggserialfn regproc, aggdeserialfn regproc, aggmtransfn regproc, aggminvtransfn regproc, aggmfinalfn regproc, aggfinalextra boolean, aggmfinalextra boolean, aggfinalmodify "char", aggmfinalmodify "char", aggsortop oid, aggtranstype oid, aggtransspace integer, aggmtranstype oid, aggmtransspace integer, agginitval text, aggminitval text"#,
    ),
    (
        "pg_locks",
        r#"locktype text, database oid, relation oid, page integer, tuple smallint, virtualxid text, transactionid xid, classid oid, objid oid, objsubid smallint, virtualtransaction text, pid integer, mode text, granted boolean, fastpath boolean, waitstart timestamp with time zone"#,
    ),
    (
        "pg_statio_user_tables",
        r#"relid oid, schemaname name, relname name, heap_blks_read bigint, heap_blks_hit bigint, idx_blks_read bigint, idx_blks_hit bigint, toast_blks_read bigint, toast_blks_hit bigint, tidx_blks_read bigint, tidx_blks_hit bigint"#,
    ),
    (
        "pg_stat_user_indexes",
        r#"relid oid, indexrelid oid, schemaname name, relname name, indexrelname name, idx_scan bigint, idx_tup_read bigint, idx_tup_fetch bigint"#,
    ),
    (
        "pg_statio_user_indexes",
        r#"relid oid, indexrelid oid, schemaname name, relname name, indexrelname name, idx_blks_read bigint, idx_blks_hit bigint"#,
    ),
    (
        "pg_stat_all_tables",
        r#"relid oid, schemaname name, relname name, seq_scan bigint, seq_tup_read bigint, idx_scan bigint, idx_tup_fetch bigint, n_tup_ins bigint, n_tup_upd bigint, n_tup_del bigint, n_tup_hot_upd bigint, n_live_tup bigint, n_dead_tup bigint, n_mod_since_analyze bigint, n_ins_since_vacuum bigint, last_vacuum timestamp with time zone, last_autovacuum timestamp with time zone, last_analyze timestamp with time zone, last_autoanalyze timestamp with time zone, vacuum_count bigint, autovacuum_count bigint, analyze_count bigint, autoanalyze_count bigint"#,
    ),
    (
        "pg_stat_database",
        r#"datid oid, datname name, numbackends integer, xact_commit bigint, xact_rollback bigint, blks_read bigint, blks_hit bigint, tup_returned bigint, tup_fetched bigint, tup_inserted bigint, tup_updated bigint, tup_deleted bigint, conflicts bigint, temp_files bigint, temp_bytes bigint, deadlocks bigint, checksum_failures bigint, checksum_last_failure timestamp with time zone, blk_read_time double precision, blk_write_time double precision, session_time double precision, active_time double precision, idle_in_transaction_time double precision, sessions bigint, sessions_abandoned bigint, sessions_fatal bigint, sessions_killed bigint, stats_reset timestamp with time zone"#,
    ),
    ("pg_seclabel", r#"objoid oid, classoid oid, objsubid integer, provider text, label text"#),
    (
        "pg_default_acl",
        r#"oid oid, defaclrole oid, defaclnamespace oid, defaclobjtype "char", defaclacl aclitem[]"#,
    ),
    ("pg_init_privs", r#"objoid oid, classoid oid, objsubid integer, privtype "char", initprivs aclitem[]"#),
    (
        "pg_conversion",
        r#"oid oid, conname name, connamespace oid, conowner oid, conforencoding integer, contoencoding integer, conproc regproc, condefault boolean"#,
    ),
    ("pg_transform", r#"oid oid, trftype oid, trflang oid, trffromsql regproc, trftosql regproc"#),
    ("pg_ts_config", r#"oid oid, cfgname name, cfgnamespace oid, cfgowner oid, cfgparser oid"#),
    ("pg_largeobject_metadata", r#"oid oid, lomowner oid, lomacl aclitem[]"#),
    ("pg_db_role_setting", r#"setdatabase oid, setrole oid, setconfig text[]"#),
    (
        "pg_prepared_xacts",
        r#"transaction xid, gid text, prepared timestamp with time zone, owner name, database name"#,
    ),
    (
        "pg_stat_replication",
        r#"pid integer, usesysid oid, usename name, application_name text, client_addr inet, client_hostname text, client_port integer, backend_start timestamp with time zone, backend_xmin xid, state text, sent_lsn pg_lsn, write_lsn pg_lsn, flush_lsn pg_lsn, replay_lsn pg_lsn, write_lag interval, flush_lag interval, replay_lag interval, sync_priority integer, sync_state text, reply_time timestamp with time zone"#,
    ),
];

/// `information_schema.routines` and `parameters`, as PostgreSQL 15 has them: mallard
/// fills in what it knows of the user's functions (see `super::routines`).
pub(super) const ROUTINES: &str = r#"specific_catalog sql_identifier, specific_schema sql_identifier, specific_name sql_identifier, routine_catalog sql_identifier, routine_schema sql_identifier, routine_name sql_identifier, routine_type character_data, module_catalog sql_identifier, module_schema sql_identifier, module_name sql_identifier, udt_catalog sql_identifier, udt_schema sql_identifier, udt_name sql_identifier, data_type character_data, character_maximum_length cardinal_number, character_octet_length cardinal_number, character_set_catalog sql_identifier, character_set_schema sql_identifier, character_set_name sql_identifier, collation_catalog sql_identifier, collation_schema sql_identifier, collation_name sql_identifier, numeric_precision cardinal_number, numeric_precision_radix cardinal_number, numeric_scale cardinal_number, datetime_precision cardinal_number, interval_type character_data, interval_precision cardinal_number, type_udt_catalog sql_identifier, type_udt_schema sql_identifier, type_udt_name sql_identifier, scope_catalog sql_identifier, scope_schema sql_identifier, scope_name sql_identifier, maximum_cardinality cardinal_number, dtd_identifier sql_identifier, routine_body character_data, routine_definition character_data, external_name character_data, external_language character_data, parameter_style character_data, is_deterministic yes_or_no, sql_data_access character_data, is_null_call yes_or_no, sql_path character_data, schema_level_routine yes_or_no, max_dynamic_result_sets cardinal_number, is_user_defined_cast yes_or_no, is_implicitly_invocable yes_or_no, security_type character_data, to_sql_specific_catalog sql_identifier, to_sql_specific_schema sql_identifier, to_sql_specific_name sql_identifier, as_locator yes_or_no, created time_stamp, last_altered time_stamp, new_savepoint_level yes_or_no, is_udt_dependent yes_or_no, result_cast_from_data_type character_data, result_cast_as_locator yes_or_no, result_cast_char_max_length cardinal_number, result_cast_char_octet_length cardinal_number, result_cast_char_set_catalog sql_identifier, result_cast_char_set_schema sql_identifier, result_cast_char_set_name sql_identifier, result_cast_collation_catalog sql_identifier, result_cast_collation_schema sql_identifier, result_cast_collation_name sql_identifier, result_cast_numeric_precision cardinal_number, result_cast_numeric_precision_radix cardinal_number, result_cast_numeric_scale cardinal_number, result_cast_datetime_precision cardinal_number, result_cast_interval_type character_data, result_cast_interval_precision cardinal_number, result_cast_type_udt_catalog sql_identifier, result_cast_type_udt_schema sql_identifier, result_cast_type_udt_name sql_identifier, result_cast_scope_catalog sql_identifier, result_cast_scope_schema sql_identifier, result_cast_scope_name sql_identifier, result_cast_maximum_cardinality cardinal_number, result_cast_dtd_identifier sql_identifier"#;

pub(super) const PARAMETERS: &str = r#"specific_catalog sql_identifier, specific_schema sql_identifier, specific_name sql_identifier, ordinal_position cardinal_number, parameter_mode character_data, is_result yes_or_no, as_locator yes_or_no, parameter_name sql_identifier, data_type character_data, character_maximum_length cardinal_number, character_octet_length cardinal_number, character_set_catalog sql_identifier, character_set_schema sql_identifier, character_set_name sql_identifier, collation_catalog sql_identifier, collation_schema sql_identifier, collation_name sql_identifier, numeric_precision cardinal_number, numeric_precision_radix cardinal_number, numeric_scale cardinal_number, datetime_precision cardinal_number, interval_type character_data, interval_precision cardinal_number, udt_catalog sql_identifier, udt_schema sql_identifier, udt_name sql_identifier, scope_catalog sql_identifier, scope_schema sql_identifier, scope_name sql_identifier, maximum_cardinality cardinal_number, dtd_identifier sql_identifier, parameter_default character_data"#;
