//! The table columns behind a statement's result columns, for `RowDescription`: each
//! relation's OID, and its columns' numbers and declared types as `pg_class` and
//! `pg_attribute` report them.
//!
//! Resolving is done once per prepared statement. What the catalog says about a relation
//! is kept per worker in [`Relations`], keyed by the name as written (and the search path
//! for an unqualified one), so that the ordinary Parse asks DuckDB nothing more. A
//! statement that may change the catalog (any DDL, in any session of the worker) drops
//! everything once it is committed; a session whose open transaction changed the catalog
//! reads past the cache, since only it sees its changes. DuckLake's catalog is shared
//! with other workers and hosts, whose DDL this worker never sees: there every prepare
//! asks the catalog.
//!
//! Whatever the cache holds is checked against the prepared statement: an attributed
//! column must have the name and the result type DuckDB gives it.
//!
//! A subquery in `FROM` is a relation too, whose columns are its result columns: table
//! columns where its own select list names them, as PostgreSQL reports them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::duck::{Connection, DuckError, LogicalType};
use crate::sql::{Item, Source, Sources};
use crate::types::{oid, pg_type};

/// Where a result column comes from, as `RowDescription` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub table_oid: u32,
    pub attnum: i16,
    /// The declared type (`pg_attribute.atttypid`): `varchar` for a `varchar(n)`
    /// column, whose result type is text.
    pub type_oid: u32,
    pub type_modifier: i32,
}

impl Origin {
    /// The type a result of this column is sent as, given its DuckDB type `ty`: jsonb
    /// ([`LogicalType::Jsonb`]) for a column declared jsonb, which DuckDB holds as JSON.
    pub fn sent_type(&self, ty: LogicalType) -> LogicalType {
        match ty {
            LogicalType::Json if self.type_oid == oid::JSONB => LogicalType::Jsonb,
            other => other,
        }
    }
}

/// A relation's columns: a table's as the catalog reports them, or a subquery's.
#[derive(Debug)]
pub struct Relation {
    columns: Vec<RelationColumn>,
}

#[derive(Debug, Clone)]
struct RelationColumn {
    name: String,
    /// The table column it is; `None` for a subquery's computed column.
    table: Option<TableColumn>,
}

#[derive(Debug, Clone, Copy)]
struct TableColumn {
    table_oid: u32,
    attnum: i16,
    type_oid: u32,
    type_modifier: i32,
    /// The type and modifier a result of this column's DuckDB type is reported as.
    result_oid: u32,
    result_modifier: i32,
}

/// A relation name as a statement writes it; the search path for an unqualified one.
type Key = (Option<String>, String, String);

/// More relations than this in the cache is a sign of many names tried: start over.
const MAX_ENTRIES: usize = 10_000;

/// The worker's cache of relations by name.
pub struct Relations {
    /// Whether this worker sees every change to its catalog (not so for DuckLake).
    enabled: bool,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    /// Bumped by every invalidation: a lookup that began before one stores nothing.
    generation: u64,
    /// `None`: no such relation (a CTE, a temporary table, a table function's name).
    entries: HashMap<Key, Option<Arc<Relation>>>,
}

impl Relations {
    pub fn new(enabled: bool) -> Relations {
        Relations { enabled, cache: Mutex::new(Cache::default()) }
    }

    /// Forgets every relation: a statement that may have changed the catalog committed.
    pub fn invalidate(&self) {
        let mut cache = self.lock();
        cache.generation += 1;
        cache.entries.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // The cache holds no invariant a panicking holder could break.
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Where each result column of a prepared statement comes from. `columns` are the
    /// DuckDB names and types of its result; `search_path` the session's, and `cached`
    /// false when the session's open transaction changed the catalog.
    pub fn origins(
        &self,
        conn: &Connection,
        sources: &Sources,
        columns: &[(String, LogicalType)],
        search_path: &str,
        cached: bool,
    ) -> Result<Option<Vec<Option<Origin>>>, DuckError> {
        let relations = self.resolve(conn, &sources.relations, search_path, cached && self.enabled)?;
        Ok(attribute(sources, &relations, columns))
    }

    /// A subquery's result columns, `None` when its width is not known.
    fn derived(
        &self,
        conn: &Connection,
        sources: &Sources,
        search_path: &str,
        cached: bool,
    ) -> Result<Option<Relation>, DuckError> {
        let relations = self.resolve(conn, &sources.relations, search_path, cached)?;
        let columns = result_columns(sources, &relations).map(|columns| {
            columns
                .into_iter()
                .map(|(c, label)| RelationColumn { name: label.to_owned(), ..c.clone() })
                .collect()
        });
        Ok(columns.map(|columns| Relation { columns }))
    }

    fn resolve(
        &self,
        conn: &Connection,
        sources: &[Source],
        search_path: &str,
        cached: bool,
    ) -> Result<Vec<Option<Arc<Relation>>>, DuckError> {
        let keys: Vec<Key> = sources.iter().map(|s| key(s, search_path)).collect();
        let mut found: Vec<Option<Option<Arc<Relation>>>> = vec![None; keys.len()];
        for (slot, source) in found.iter_mut().zip(sources) {
            if let Some(inner) = &source.derived {
                *slot = Some(self.derived(conn, inner, search_path, cached)?.map(Arc::new));
            }
        }
        let generation = {
            let cache = self.lock();
            if cached {
                for (slot, key) in found.iter_mut().zip(&keys) {
                    if slot.is_none() {
                        *slot = cache.entries.get(key).cloned();
                    }
                }
            }
            cache.generation
        };
        let missing: Vec<&Source> =
            sources.iter().zip(&found).filter(|(_, f)| f.is_none()).map(|(s, _)| s).collect();
        if !missing.is_empty() {
            let rows = lookup(conn, &missing)?;
            let mut cache = self.lock();
            let store = cached && cache.generation == generation;
            if store && cache.entries.len() >= MAX_ENTRIES {
                cache.entries.clear();
            }
            for ((slot, source), key) in found.iter_mut().zip(sources).zip(&keys) {
                if slot.is_none() {
                    let relation = choose(&rows, source).map(Arc::new);
                    if store {
                        cache.entries.insert(key.clone(), relation.clone());
                    }
                    *slot = Some(relation);
                }
            }
        }
        Ok(found.into_iter().map(Option::flatten).collect())
    }
}

fn key(source: &Source, search_path: &str) -> Key {
    let path = if source.schema.is_some() { String::new() } else { search_path.to_owned() };
    (source.schema.clone(), source.name.clone(), path)
}

/// One row of the lookup: a column of a relation with one of the names asked for.
struct Row {
    schema: String,
    table: String,
    /// The schema's place in the search path, from 1; 0 when it is not on it.
    position: i32,
    name: String,
    column: TableColumn,
}

/// The columns of every relation of the session's database called one of `sources`'
/// names, in any schema: one query.
fn lookup(conn: &Connection, sources: &[&Source]) -> Result<Vec<Row>, DuckError> {
    let names: Vec<String> =
        sources.iter().map(|s| crate::duck::quote_literal(&s.name.to_lowercase())).collect();
    let sql = format!(
        "SELECT c.schema_name, c.table_name, c.column_name, \
                CAST(c.relid AS UINTEGER), \
                CAST(coalesce(list_position(main.current_schemas(false), c.schema_name), 0) AS INTEGER), \
                CAST(c.attnum AS INTEGER), CAST(c.typid AS UINTEGER), CAST(c.typmod AS INTEGER) \
         FROM {schema}.columns c WHERE lower(c.table_name) IN ({names}) \
         ORDER BY c.schema_name, c.table_name, c.attnum",
        schema = super::SCHEMA,
        names = names.join(", ")
    );
    let mut result = conn.prepare(&sql)?.execute()?;
    let mut rows = Vec::new();
    while let Some(chunk) = result.next_chunk()? {
        let v: Vec<_> = (0..8).map(|c| chunk.vector(c)).collect();
        let text = |c: usize, r: usize| String::from_utf8_lossy(v[c].bytes(r)).into_owned();
        for r in 0..chunk.len() {
            if !v.iter().all(|v| v.is_valid(r)) {
                continue;
            }
            let type_oid = v[6].values::<u32>()[r];
            let type_modifier = v[7].values::<i32>()[r];
            // What a result of the column's DuckDB type is reported as: the declared
            // type, but for the types DuckDB keeps as checks, whose values are text
            // and JSON.
            let (result_oid, result_modifier) = match type_oid {
                oid::VARCHAR | oid::BPCHAR => (oid::TEXT, -1),
                oid::JSONB => (oid::JSON, -1),
                _ => (type_oid, type_modifier),
            };
            rows.push(Row {
                schema: text(0, r),
                table: text(1, r),
                position: v[4].values::<i32>()[r],
                name: text(2, r),
                column: TableColumn {
                    table_oid: v[3].values::<u32>()[r],
                    attnum: i16::try_from(v[5].values::<i32>()[r]).unwrap_or(0),
                    type_oid,
                    type_modifier,
                    result_oid,
                    result_modifier,
                },
            });
        }
    }
    Ok(rows)
}

/// The relation `source` names among the rows: in its schema, or the first on the
/// search path.
fn choose(rows: &[Row], source: &Source) -> Option<Relation> {
    let schema = source.schema.as_deref().map(|s| if s == "public" { "main" } else { s });
    let named = |r: &&Row| r.table.eq_ignore_ascii_case(&source.name);
    let best = match schema {
        Some(schema) => rows.iter().filter(named).find(|r| r.schema.eq_ignore_ascii_case(schema))?,
        None => rows.iter().filter(named).filter(|r| r.position > 0).min_by_key(|r| r.position)?,
    };
    let columns = rows
        .iter()
        .filter(|r| r.schema == best.schema && r.table == best.table)
        .map(|r| RelationColumn { name: r.name.clone(), table: Some(r.column) })
        .collect();
    Some(Relation { columns })
}

/// The result columns the sources' items make, each with the name it is given; `None`
/// when a star covers a relation whose width is not known.
fn result_columns<'r>(
    sources: &'r Sources,
    relations: &'r [Option<Arc<Relation>>],
) -> Option<Vec<(&'r RelationColumn, &'r str)>> {
    const COMPUTED: &RelationColumn = &RelationColumn { name: String::new(), table: None };
    let mut found = Vec::new();
    for item in &sources.items {
        match item {
            Item::Computed => found.push((COMPUTED, "")),
            Item::Column { qualifier, name, label } => {
                let column = find(sources, relations, qualifier.as_deref(), name).unwrap_or(COMPUTED);
                found.push((column, label.as_str()));
            }
            Item::Star { qualifier } => {
                for (source, relation) in sources.relations.iter().zip(relations) {
                    if qualifier.as_deref().is_some_and(|q| !source.is_called(q)) {
                        continue;
                    }
                    let relation = relation.as_ref()?;
                    found.extend(relation.columns.iter().map(|c| (c, c.name.as_str())));
                }
            }
        }
    }
    Some(found)
}

/// Each result column's origin, given the relations the sources name (`None` where the
/// catalog has none). `None` overall when the items do not line up with the result.
fn attribute(
    sources: &Sources,
    relations: &[Option<Arc<Relation>>],
    columns: &[(String, LogicalType)],
) -> Option<Vec<Option<Origin>>> {
    let found = result_columns(sources, relations)?;
    if found.len() != columns.len() {
        return None;
    }
    // A column is what the text says only if DuckDB named and typed it so.
    let origins = found.into_iter().zip(columns).map(|((column, label), (duck_name, ty))| {
        let column = column.table?;
        let t = pg_type(ty);
        // An unconstrained numeric column is DECIMAL(38,10) in DuckDB, declared without
        // a modifier in the catalog.
        let modifier_ok = column.result_modifier == t.modifier || column.result_oid == oid::NUMERIC;
        let same = duck_name.eq_ignore_ascii_case(label) && column.result_oid == t.oid && modifier_ok;
        same.then_some(Origin {
            table_oid: column.table_oid,
            attnum: column.attnum,
            type_oid: column.type_oid,
            type_modifier: column.type_modifier,
        })
    });
    Some(origins.collect())
}

/// The column `qualifier.name` refers to, if exactly one of the relations has it.
fn find<'r>(
    sources: &Sources,
    relations: &'r [Option<Arc<Relation>>],
    qualifier: Option<&str>,
    name: &str,
) -> Option<&'r RelationColumn> {
    let mut hits = sources
        .relations
        .iter()
        .zip(relations)
        .filter(|(s, _)| qualifier.is_none_or(|q| s.is_called(q)))
        .filter_map(|(_, r)| {
            let r = r.as_ref()?;
            r.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name))
        });
    let hit = hits.next()?;
    hits.next().is_none().then_some(hit)
}
