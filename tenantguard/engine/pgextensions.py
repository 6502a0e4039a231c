"""The functions of PostgreSQL 15's contrib extensions and their volatility (each extension
created in a fresh database, then: `SELECT e.extname, p.proname, p.provolatile FROM pg_proc p JOIN
pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e' JOIN
pg_extension e ON e.oid = d.refobjid`, functions and aggregates callable from a query — no type
input/output functions, no handlers —; PostgreSQL 15.18).

`CREATE EXTENSION x` in the schema sources tells which functions a query may call under their
names: a name whose every overload is IMMUTABLE or STABLE is not volatile (a CTE calling it may be
folded into its reader); one with a VOLATILE overload is. And which of their parameters are of a
lossy type (`ll_to_earth(float8, float8)`): a bare bind parameter given there is typed so, and a
tenant id of 2^53 or more meets another in double precision.
"""

from __future__ import annotations

__all__ = ["EXTENSION_FUNCTIONS", "EXTENSION_LOSSY_ARGUMENTS", "EXTENSION_REQUIRES"]

# extension -> (names of its IMMUTABLE or STABLE functions, names with a VOLATILE overload)
_DATA = {
    "adminpack": (
        "",
        "pg_file_rename pg_file_sync pg_file_unlink pg_file_write pg_logdir_ls",
    ),
    "amcheck": (
        "",
        "bt_index_check bt_index_parent_check verify_heapam",
    ),
    "btree_gin": (
        "gin_btree_consistent gin_compare_prefix_anyenum gin_compare_prefix_bit "
        "gin_compare_prefix_bool gin_compare_prefix_bpchar gin_compare_prefix_bytea "
        "gin_compare_prefix_char gin_compare_prefix_cidr gin_compare_prefix_date "
        "gin_compare_prefix_float4 gin_compare_prefix_float8 gin_compare_prefix_inet "
        "gin_compare_prefix_int2 gin_compare_prefix_int4 gin_compare_prefix_int8 "
        "gin_compare_prefix_interval gin_compare_prefix_macaddr gin_compare_prefix_macaddr8 "
        "gin_compare_prefix_money gin_compare_prefix_name gin_compare_prefix_numeric "
        "gin_compare_prefix_oid gin_compare_prefix_text gin_compare_prefix_time "
        "gin_compare_prefix_timestamp gin_compare_prefix_timestamptz gin_compare_prefix_timetz "
        "gin_compare_prefix_uuid gin_compare_prefix_varbit gin_enum_cmp gin_numeric_cmp",
        "",
    ),
    "btree_gist": (
        "cash_dist date_dist float4_dist float8_dist gbt_bit_consistent gbt_bit_union "
        "gbt_bool_consistent gbt_bool_union gbt_bpchar_consistent gbt_bytea_consistent "
        "gbt_bytea_union gbt_cash_consistent gbt_cash_distance gbt_cash_union "
        "gbt_date_consistent gbt_date_distance gbt_date_union gbt_enum_consistent "
        "gbt_enum_union gbt_float4_consistent gbt_float4_distance gbt_float4_union "
        "gbt_float8_consistent gbt_float8_distance gbt_float8_union gbt_inet_consistent "
        "gbt_inet_union gbt_int2_consistent gbt_int2_distance gbt_int2_union "
        "gbt_int4_consistent gbt_int4_distance gbt_int4_union gbt_int8_consistent "
        "gbt_int8_distance gbt_int8_union gbt_intv_consistent gbt_intv_distance gbt_intv_union "
        "gbt_macad8_consistent gbt_macad8_union gbt_macad_consistent gbt_macad_union "
        "gbt_numeric_consistent gbt_numeric_union gbt_oid_consistent gbt_oid_distance "
        "gbt_oid_union gbt_text_consistent gbt_text_union gbt_time_consistent gbt_time_distance "
        "gbt_time_union gbt_timetz_consistent gbt_ts_consistent gbt_ts_distance gbt_ts_union "
        "gbt_tstz_consistent gbt_tstz_distance gbt_uuid_consistent gbt_uuid_union int2_dist "
        "int4_dist int8_dist interval_dist oid_dist time_dist ts_dist tstz_dist",
        "",
    ),
    "citext": (
        "citext citext_cmp citext_eq citext_ge citext_gt citext_hash citext_hash_extended "
        "citext_larger citext_le citext_lt citext_ne citext_pattern_cmp citext_pattern_ge "
        "citext_pattern_gt citext_pattern_le citext_pattern_lt citext_smaller citextin "
        "citextout citextrecv citextsend max min regexp_match regexp_matches regexp_replace "
        "regexp_split_to_array regexp_split_to_table replace split_part strpos texticlike "
        "texticnlike texticregexeq texticregexne translate",
        "",
    ),
    "cube": (
        "cube cube_cmp cube_contained cube_contains cube_coord cube_coord_llur cube_dim "
        "cube_distance cube_enlarge cube_eq cube_ge cube_gt cube_inter cube_is_point cube_le "
        "cube_ll_coord cube_lt cube_ne cube_overlap cube_size cube_subset cube_union "
        "cube_ur_coord distance_chebyshev distance_taxicab g_cube_consistent g_cube_distance "
        "g_cube_union",
        "",
    ),
    "dblink": (
        "",
        "dblink dblink_build_sql_delete dblink_build_sql_insert dblink_build_sql_update "
        "dblink_cancel_query dblink_close dblink_connect dblink_connect_u dblink_current_query "
        "dblink_disconnect dblink_error_message dblink_exec dblink_fdw_validator dblink_fetch "
        "dblink_get_connections dblink_get_notify dblink_get_pkey dblink_get_result "
        "dblink_is_busy dblink_open dblink_send_query",
    ),
    "earthdistance": (
        "earth earth_box earth_distance gc_to_sec geo_distance latitude ll_to_earth longitude "
        "sec_to_gc",
        "",
    ),
    "file_fdw": (
        "",
        "file_fdw_validator",
    ),
    "fuzzystrmatch": (
        "difference dmetaphone dmetaphone_alt levenshtein levenshtein_less_equal metaphone "
        "soundex text_soundex",
        "",
    ),
    "hstore": (
        "akeys avals defined delete each exist exists_all exists_any fetchval "
        "ghstore_consistent ghstore_options ghstore_union gin_consistent_hstore hs_concat "
        "hs_contained hs_contains hstore hstore_cmp hstore_eq hstore_ge hstore_gt hstore_hash "
        "hstore_hash_extended hstore_le hstore_lt hstore_ne hstore_to_array hstore_to_json "
        "hstore_to_json_loose hstore_to_jsonb hstore_to_jsonb_loose hstore_to_matrix "
        "hstore_version_diag isdefined isexists populate_record skeys slice slice_array svals "
        "tconvert",
        "",
    ),
    "intagg": (
        "int_array_aggregate int_array_enum",
        "int_agg_final_array",
    ),
    "intarray": (
        "_int_contained _int_contained_joinsel _int_contained_sel _int_contains "
        "_int_contains_joinsel _int_contains_sel _int_different _int_inter _int_matchsel "
        "_int_overlap _int_overlap_joinsel _int_overlap_sel _int_same _int_union boolop "
        "g_int_consistent g_int_options g_int_union g_intbig_consistent g_intbig_options "
        "g_intbig_union ginint4_consistent icount idx intarray_del_elem intarray_push_array "
        "intarray_push_elem intset intset_subtract intset_union_elem querytree rboolop sort "
        "sort_asc sort_desc subarray uniq",
        "",
    ),
    "isn": (
        "btean13cmp btisbn13cmp btisbncmp btismn13cmp btismncmp btissn13cmp btissncmp btupccmp "
        "hashean13 hashisbn hashisbn13 hashismn hashismn13 hashissn hashissn13 hashupc is_valid "
        "isbn isbn13 ismn ismn13 isn_weak isneq isnge isngt isnle isnlt isnne issn issn13 "
        "make_valid upc",
        "",
    ),
    "lo": (
        "lo_oid",
        "",
    ),
    "ltree": (
        "_lt_q_regex _lt_q_rregex _ltq_extract_regex _ltq_regex _ltq_rregex _ltree_consistent "
        "_ltree_extract_isparent _ltree_extract_risparent _ltree_gist_options _ltree_isparent "
        "_ltree_r_isparent _ltree_r_risparent _ltree_risparent _ltree_union _ltxtq_exec "
        "_ltxtq_extract_exec _ltxtq_rexec index lca lt_q_regex lt_q_rregex ltq_regex ltq_rregex "
        "ltree2text ltree_addltree ltree_addtext ltree_cmp ltree_consistent ltree_eq ltree_ge "
        "ltree_gist_options ltree_gt ltree_isparent ltree_le ltree_lt ltree_ne ltree_risparent "
        "ltree_textadd ltree_union ltreeparentsel ltxtq_exec ltxtq_rexec nlevel subltree "
        "subpath text2ltree",
        "",
    ),
    "old_snapshot": (
        "",
        "pg_old_snapshot_time_mapping",
    ),
    "pageinspect": (
        "",
        "brin_metapage_info brin_page_items brin_page_type brin_revmap_data bt_metap "
        "bt_page_items bt_page_stats fsm_page_contents get_raw_page gin_leafpage_items "
        "gin_metapage_info gin_page_opaque_info gist_page_items gist_page_items_bytea "
        "gist_page_opaque_info hash_bitmap_info hash_metapage_info hash_page_items "
        "hash_page_stats hash_page_type heap_page_item_attrs heap_page_items "
        "heap_tuple_infomask_flags page_checksum page_header tuple_data_split",
    ),
    "pg_buffercache": (
        "",
        "pg_buffercache_pages",
    ),
    "pg_freespacemap": (
        "",
        "pg_freespace",
    ),
    "pg_prewarm": (
        "",
        "autoprewarm_dump_now autoprewarm_start_worker pg_prewarm",
    ),
    "pg_stat_statements": (
        "",
        "pg_stat_statements pg_stat_statements_info pg_stat_statements_reset",
    ),
    "pg_surgery": (
        "",
        "heap_force_freeze heap_force_kill",
    ),
    "pg_trgm": (
        "gin_trgm_consistent gin_trgm_triconsistent gtrgm_consistent gtrgm_distance "
        "gtrgm_options gtrgm_union show_limit show_trgm similarity similarity_dist "
        "similarity_op strict_word_similarity strict_word_similarity_commutator_op "
        "strict_word_similarity_dist_commutator_op strict_word_similarity_dist_op "
        "strict_word_similarity_op word_similarity word_similarity_commutator_op "
        "word_similarity_dist_commutator_op word_similarity_dist_op word_similarity_op",
        "set_limit",
    ),
    "pg_visibility": (
        "",
        "pg_check_frozen pg_check_visible pg_truncate_visibility_map pg_visibility "
        "pg_visibility_map pg_visibility_map_summary",
    ),
    "pg_walinspect": (
        "",
        "pg_get_wal_record_info pg_get_wal_records_info pg_get_wal_records_info_till_end_of_wal "
        "pg_get_wal_stats pg_get_wal_stats_till_end_of_wal",
    ),
    "pgcrypto": (
        "armor crypt dearmor decrypt decrypt_iv digest encrypt encrypt_iv hmac "
        "pgp_armor_headers pgp_key_id pgp_pub_decrypt pgp_pub_decrypt_bytea pgp_sym_decrypt "
        "pgp_sym_decrypt_bytea",
        "gen_random_bytes gen_random_uuid gen_salt pgp_pub_encrypt pgp_pub_encrypt_bytea "
        "pgp_sym_encrypt pgp_sym_encrypt_bytea",
    ),
    "pgrowlocks": (
        "",
        "pgrowlocks",
    ),
    "pgstattuple": (
        "",
        "pg_relpages pgstatginindex pgstathashindex pgstatindex pgstattuple pgstattuple_approx",
    ),
    "plpgsql": (
        "",
        "plpgsql_inline_handler plpgsql_validator",
    ),
    "postgres_fdw": (
        "",
        "postgres_fdw_disconnect postgres_fdw_disconnect_all postgres_fdw_get_connections "
        "postgres_fdw_validator",
    ),
    "seg": (
        "gseg_consistent gseg_union seg_center seg_cmp seg_contained seg_contains seg_different "
        "seg_ge seg_gt seg_inter seg_le seg_left seg_lower seg_lt seg_over_left seg_over_right "
        "seg_overlap seg_right seg_same seg_size seg_union seg_upper",
        "",
    ),
    "sslinfo": (
        "",
        "ssl_cipher ssl_client_cert_present ssl_client_dn ssl_client_dn_field ssl_client_serial "
        "ssl_extension_info ssl_is_used ssl_issuer_dn ssl_issuer_field ssl_version",
    ),
    "tablefunc": (
        "connectby crosstab crosstab2 crosstab3 crosstab4",
        "normal_rand",
    ),
    "unaccent": (
        "unaccent",
        "",
    ),
    "uuid-ossp": (
        "uuid_generate_v3 uuid_generate_v5 uuid_nil uuid_ns_dns uuid_ns_oid uuid_ns_url "
        "uuid_ns_x500",
        "uuid_generate_v1 uuid_generate_v1mc uuid_generate_v4",
    ),
    "xml2": (
        "xml_encode_special_chars xml_valid xpath_bool xpath_list xpath_nodeset xpath_number "
        "xpath_string xpath_table",
        "xslt_process",
    ),
}  # fmt: skip

EXTENSION_FUNCTIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    name: (frozenset(stable.split()), frozenset(volatile.split()))
    for name, (stable, volatile) in _DATA.items()
}

# extension -> its functions with parameters of a lossy type (real, double precision, money,
# char(n), citext…) -> their positions, 0-based (-(p + 1): p and every position after it, a
# VARIADIC last parameter), as `audit` reads them from the catalog (catalog._ROUTINES; the same
# database): a bare bind parameter given there is typed so for the whole statement
EXTENSION_LOSSY_ARGUMENTS: dict[str, dict[str, tuple[int, ...]]] = {
    "btree_gin": {
        "gin_compare_prefix_bpchar": (0, 1),
        "gin_compare_prefix_char": (0, 1),
        "gin_compare_prefix_float4": (0, 1),
        "gin_compare_prefix_float8": (0, 1),
        "gin_compare_prefix_money": (0, 1),
        "gin_compare_prefix_name": (0, 1),
        "gin_extract_query_bpchar": (0,),
        "gin_extract_query_char": (0,),
        "gin_extract_query_float4": (0,),
        "gin_extract_query_float8": (0,),
        "gin_extract_query_money": (0,),
        "gin_extract_query_name": (0,),
        "gin_extract_value_bpchar": (0,),
        "gin_extract_value_char": (0,),
        "gin_extract_value_float4": (0,),
        "gin_extract_value_float8": (0,),
        "gin_extract_value_money": (0,),
        "gin_extract_value_name": (0,),
    },
    "btree_gist": {
        "cash_dist": (0, 1),
        "float4_dist": (0, 1),
        "float8_dist": (0, 1),
        "gbt_bpchar_consistent": (1,),
        "gbt_cash_consistent": (1,),
        "gbt_cash_distance": (1,),
        "gbt_float4_consistent": (1,),
        "gbt_float4_distance": (1,),
        "gbt_float8_consistent": (1,),
        "gbt_float8_distance": (1,),
    },
    "citext": {
        "citext": (0,),
        "citext_cmp": (0, 1),
        "citext_eq": (0, 1),
        "citext_ge": (0, 1),
        "citext_gt": (0, 1),
        "citext_hash": (0,),
        "citext_hash_extended": (0,),
        "citext_larger": (0, 1),
        "citext_le": (0, 1),
        "citext_lt": (0, 1),
        "citext_ne": (0, 1),
        "citext_pattern_cmp": (0, 1),
        "citext_pattern_ge": (0, 1),
        "citext_pattern_gt": (0, 1),
        "citext_pattern_le": (0, 1),
        "citext_pattern_lt": (0, 1),
        "citext_smaller": (0, 1),
        "citextout": (0,),
        "citextsend": (0,),
        "max": (0,),
        "min": (0,),
        "regexp_match": (0, 1),
        "regexp_matches": (0, 1),
        "regexp_replace": (0, 1),
        "regexp_split_to_array": (0, 1),
        "regexp_split_to_table": (0, 1),
        "replace": (0, 1, 2),
        "split_part": (0, 1),
        "strpos": (0, 1),
        "texticlike": (0, 1),
        "texticnlike": (0, 1),
        "texticregexeq": (0, 1),
        "texticregexne": (0, 1),
        "translate": (0, 1),
    },
    "cube": {
        "cube": (0, 1, 2),
        "cube_enlarge": (1,),
    },
    "earthdistance": {
        "earth_box": (1,),
        "gc_to_sec": (0,),
        "ll_to_earth": (0, 1),
        "sec_to_gc": (0,),
    },
    "pg_trgm": {
        "set_limit": (0,),
    },
    "tablefunc": {
        "normal_rand": (1, 2),
    },
}  # fmt: skip
# what CREATE EXTENSION … CASCADE creates first (their control files' `requires`)
EXTENSION_REQUIRES: dict[str, tuple[str, ...]] = {"earthdistance": ("cube",)}
