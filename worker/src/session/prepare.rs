//! Parse, carried out: a statement's text is split (and so tokenized) once,
//! [`sql::analyze`] decides what it is, and this prepares what DuckDB runs, asking
//! DuckDB only what the text cannot tell: how many parameters there are, the types it
//! infers, and the result columns.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use mallard_protocol::pg::backend::ErrorInfo;
use mallard_protocol::pg::SqlState;

use super::portal::{attribute, rename, result_columns, Column, DuckStatement, Statement, StatementKind};
use super::Session;
use super::StepError;
use crate::catalog::relations::Origin;
use crate::duck::{LogicalType, Prepared, Value};
use crate::sql::{self, Analysis, Command, DuckPlan, Plan, Refusal};
use crate::types::pg_type;

impl Session<'_> {
    /// Parses a text that must hold at most one statement (`Parse`, or the query of a
    /// `DECLARE`). `reusable`: the statement is an unnamed one, which may be one
    /// prepared before for the same text (see [`super::plans`]).
    pub(super) fn parse_statement(
        &mut self,
        sql: &str,
        param_types: &[u32],
        reusable: bool,
    ) -> Result<Rc<Statement>, StepError> {
        match sql::split(sql).as_slice() {
            [] => Ok(Rc::new(Statement {
                sql: String::new(),
                text: String::new(),
                command: Command::Other("EMPTY".into()),
                kind: StatementKind::Empty,
            })),
            [one] if reusable => self.prepare_reusable(one, param_types),
            [one] => self.prepare_statement(one, param_types),
            _ => Err(StepError::query(
                SqlState::SYNTAX_ERROR,
                "cannot insert multiple commands into a prepared statement",
            )),
        }
    }

    /// Prepares a statement of a simple query or an unnamed `Parse`: the one prepared for
    /// the same text before, when nothing it was planned with has changed since.
    pub(super) fn prepare_reusable(
        &mut self,
        statement: &sql::Statement<'_>,
        param_types: &[u32],
    ) -> Result<Rc<Statement>, StepError> {
        let sql = statement.sql();
        // Read before preparing: a change committed meanwhile dates the new entry too.
        let generation = self.shared.snapshot.generation();
        if self.catalog.may_reuse_plans() {
            if let Some(kept) = self.plans.get(sql, param_types, self.settings.plan_inputs(), generation) {
                // A kept statement changes no catalog: nothing to note before it runs.
                self.settings.sync_duckdb(&self.duck, false);
                return Ok(kept);
            }
        }
        let prepared = self.prepare_statement(statement, param_types)?;
        if self.catalog.may_reuse_plans() {
            self.plans.insert(sql, param_types, self.settings.plan_inputs(), generation, &prepared);
        }
        Ok(prepared)
    }

    /// Analyses one statement and prepares it. Parameter types the client names are
    /// imposed with casts, so that DuckDB types the statement as PostgreSQL would.
    pub(super) fn prepare_statement(
        &mut self,
        statement: &sql::Statement<'_>,
        param_types: &[u32],
    ) -> Result<Rc<Statement>, StepError> {
        let style = self.settings.text_style();
        let Analysis { command, plan } = sql::analyze(statement, param_types, &style).map_err(refused)?;
        if command.loads_extension() && !self.shared.config.extension_statements {
            return Err(StepError::Query(
                ErrorInfo::error(
                    SqlState::INSUFFICIENT_PRIVILEGE,
                    format!("{} of extensions from SQL is disabled on this server", command.tag(0)),
                )
                .with_hint(
                    "The server's configuration lists the extensions every worker loads (`extensions`).",
                ),
            ));
        }
        self.note_catalog_change(&command, statement.sql());
        self.changed_connection |= !command.leaves_connection_as_found();
        // DuckLake keeps no keys: pgbench -i and schema tools go on, told so.
        let unkept_key = match (&plan, &self.shared.lake) {
            (Plan::Duck(_), Some(_)) => sql::added_key(statement),
            _ => None,
        };
        let kind = match plan {
            Plan::Session => StatementKind::Session,
            Plan::Cursor => StatementKind::Cursor,
            Plan::Declare => {
                let Command::DeclareCursor(declare) = &command else { unreachable!("declare") };
                StatementKind::Declare(self.parse_statement(&declare.query, param_types, false)?)
            }
            Plan::Copy => StatementKind::Copy,
            Plan::Answer(tag) => StatementKind::Answer(tag, None),
            Plan::Duck(_) if unkept_key.is_some() => {
                let key = unkept_key.unwrap_or_default();
                let warning = format!("DuckLake has no {key}s: the {key} is not created and not enforced");
                StatementKind::Answer("ALTER TABLE", Some(warning))
            }
            Plan::Script(script) => StatementKind::Script(script),
            Plan::Duck(plan) => return self.prepare_duck(command, plan, param_types, statement.sql()),
        };
        let sql = statement.sql().to_owned();
        Ok(Rc::new(Statement { text: sql.clone(), sql, command, kind }))
    }

    /// Prepares a statement in DuckDB, and learns what `ParameterDescription` and
    /// `RowDescription` report for it.
    fn prepare_duck(
        &mut self,
        command: Command,
        plan: DuckPlan,
        param_types: &[u32],
        text: &str,
    ) -> Result<Rc<Statement>, StepError> {
        let mut casts = plan.casts.clone();
        let mut duck_sql = plan.with_casts(&casts);
        self.settings.sync_duckdb(&self.duck, crate::catalog::reads_settings(&duck_sql));
        self.park_live()?;
        let catalog = crate::catalog::reads_catalog(&duck_sql).then(|| self.choose_catalog());
        let mut prepared = self.duck.prepare(&duck_sql)?;
        let n = prepared.param_count();
        // PostgreSQL infers every parameter's type at Parse, and drivers encode values
        // by what ParameterDescription says. Where DuckDB leaves one open, try types.
        casts.resize(n, None);
        for i in 0..n {
            let named = param_types.get(i).is_some_and(|&t| t != 0);
            if named || casts[i].is_some() || prepared.param_type(i).is_some() {
                continue;
            }
            for candidate in plan.candidates(i) {
                casts[i] = Some(candidate.to_owned());
                let sql = plan.with_casts(&casts);
                if let Ok(p) = self.duck.prepare(&sql) {
                    (prepared, duck_sql) = (p, sql);
                    break;
                }
                casts[i] = None;
            }
        }
        let param_oids = (0..n)
            .map(|i| plan.param_oid(i, param_types, prepared.param_type(i).map(|t| pg_type(&t).oid)))
            .collect();
        let returns_rows = prepared.returns_rows() || plan.returning;
        let mut columns = if returns_rows {
            let mut columns: Vec<Column> =
                prepared.columns().into_iter().map(|(name, ty)| Column::new(name, ty)).collect();
            rename(&mut columns, &plan.names);
            let open = columns.iter().any(|c| matches!(c.ty, LogicalType::Other(_)));
            if !open {
                Some(columns)
            } else if command == Command::Select && (0..n).all(|i| prepared.param_type(i).is_some()) {
                // DuckDB types some queries only once values are bound (a table function
                // of a parameter). Clients need the columns now: run the query on NULLs
                // without rows to learn them.
                self.probe_columns(&plan.sql, n).map(|mut columns| {
                    rename(&mut columns, &plan.names);
                    columns
                })
            } else {
                None
            }
        } else {
            Some(Vec::new())
        };
        let origins = match (&plan.sources, &mut columns) {
            (Some(sources), Some(columns)) if !columns.is_empty() => {
                let origins = self.origins(sources, &prepared);
                attribute(columns, &origins);
                origins
            }
            _ => None,
        };
        let duck = DuckStatement {
            prepared: RefCell::new(prepared),
            catalog: catalog.map(Cell::new),
            param_oids,
            columns,
            names: plan.names,
            origins,
            returns_rows,
        };
        Ok(Rc::new(Statement {
            sql: duck_sql,
            text: text.to_owned(),
            command,
            kind: StatementKind::Duck(duck),
        }))
    }

    /// The table column each result column of a prepared statement is (see
    /// [`crate::catalog::relations`]). A failed lookup only leaves them unattributed.
    /// It reads the snapshot only if it is current already (see [`Self::guard_catalog`]):
    /// a lookup never waits for one to be built.
    fn origins(&mut self, sources: &sql::Sources, prepared: &Prepared) -> Option<Vec<Option<Origin>>> {
        self.origins_of(sources, &prepared.columns())
    }

    /// The table column each of `columns` (DuckDB names and types) is, read from
    /// `sources`; see [`Self::origins`].
    pub(super) fn origins_of(
        &mut self,
        sources: &sql::Sources,
        columns: &[(String, LogicalType)],
    ) -> Option<Vec<Option<Origin>>> {
        let search_path = self.settings.get("search_path").unwrap_or_default();
        let cached = !self.catalog_changed;
        match self.shared.relations.origins(&self.duck, sources, columns, search_path, cached) {
            Ok(origins) => origins,
            Err(e) => {
                tracing::debug!(error = %e, "could not look up the result columns' tables");
                None
            }
        }
    }

    /// Notes a statement that may change the catalog. For the relation cache (see
    /// [`Self::catalog_changed`]): one that makes, changes or drops a relation or a
    /// schema, or switches databases. Other DDL (indexes, sequences, types, macros)
    /// changes no relation's columns, and a temporary relation is not attributed:
    /// neither empties the worker's cache, whose refill costs a scan of DuckDB's catalog
    /// (350 ms with 5,000 tables). The catalog's snapshot (see [`super::catalog`]) holds
    /// more (indexes, constraints, comments, sequences, the sizes ANALYZE and VACUUM
    /// refresh): any statement but those known to leave the catalog alone dates it.
    pub(super) fn note_catalog_change(&mut self, command: &Command, sql: &str) {
        const RELATIONS: &[&str] = &[
            "CREATE TABLE",
            "CREATE VIEW",
            "CREATE MATERIALIZED VIEW",
            "ALTER TABLE",
            "ALTER VIEW",
            "DROP TABLE",
            "DROP VIEW",
            "DROP MATERIALIZED VIEW",
            "DROP SCHEMA",
            "ALTER SCHEMA",
        ];
        const DATABASES: &[&str] = &["ATTACH", "DETACH", "USE", "IMPORT"];
        let ddl = match command {
            Command::CreateTableAs => true,
            Command::Other(tag) => RELATIONS.contains(&tag.as_str()) || DATABASES.contains(&tag.as_str()),
            _ => false,
        };
        // `CREATE [OR REPLACE] TEMP ...`, `CREATE TABLE [IF NOT EXISTS] temp.t`: the word
        // anywhere before the definition (`(` or `AS`).
        let temporary = || {
            let statement = sql::Statement::new(sql);
            statement.starts_with("CREATE")
                && statement
                    .tokens()
                    .iter()
                    .take_while(|(_, t)| {
                        !matches!(t, sql::Token::Punct('(')) && !matches!(t, sql::Token::Word(w) if w.eq_ignore_ascii_case("as"))
                    })
                    .any(|(_, t)| {
                        matches!(t, sql::Token::Word(w) if w.eq_ignore_ascii_case("temp") || w.eq_ignore_ascii_case("temporary"))
                    })
        };
        // Tags of statements that change no catalog object.
        const LEAVE_CATALOG: &[&str] = &[
            "COPY",
            "EXPLAIN",
            "CHECKPOINT",
            "FORCE",
            "LOAD",
            "INSTALL",
            "EXPORT",
            "PREPARE",
            "SELECT",
            "EMPTY",
        ];
        let writes = match command {
            Command::CreateTableAs => true,
            Command::Other(tag) => !LEAVE_CATALOG.contains(&tag.as_str()),
            _ => false,
        };
        let switches = matches!(command, Command::Other(tag) if tag == "USE");
        if ddl || writes {
            // What the session prepared may name what it changes.
            self.plans.clear();
        }
        let temporary = (ddl || writes) && temporary();
        let permanent = (ddl || writes) && !temporary;
        self.catalog_changed |= ddl && permanent;
        self.catalog.note(writes && permanent, switches);
        if temporary {
            self.note_temporary_objects();
        }
        self.guard_catalog();
    }

    /// The columns of a query that DuckDB types only at execution, from a run of it on
    /// NULL parameters that returns no rows. `None` if even that does not tell.
    fn probe_columns(&mut self, sql: &str, params: usize) -> Option<Vec<Column>> {
        let probe = self.duck.prepare(&format!("SELECT * FROM ({sql}) AS mallard_probe LIMIT 0")).ok()?;
        for i in 0..params {
            probe.bind(i, &Value::Null).ok()?;
        }
        let mut result = probe.execute().ok()?;
        let columns = result_columns(&mut result, &None, &None);
        (!columns.iter().any(|c| matches!(c.ty, LogicalType::Other(_)))).then_some(columns)
    }
}

/// The error a refused statement gets.
fn refused(refusal: Refusal) -> StepError {
    match refusal {
        Refusal::Invalid(e) => e.into(),
        Refusal::Copy(e) => e.into(),
        Refusal::Value(e) => StepError::query(e.code, e.message),
        Refusal::Unsupported(message) => StepError::query(SqlState::FEATURE_NOT_SUPPORTED, message),
        Refusal::ClientStdio => StepError::query(
            SqlState::FEATURE_NOT_SUPPORTED,
            "COPY FROM STDIN and COPY TO STDOUT are not supported yet",
        ),
    }
}
