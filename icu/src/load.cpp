// Loads the ICU extension compiled into this binary into a DuckDB database opened through
// DuckDB's C API. The C API's `duckdb_database` is a DatabaseWrapper holding the DuckDB
// object; LoadStaticExtension registers the extension's functions, casts and settings
// (TimeZone, Calendar) exactly as DuckDB does for extensions built into its own binaries.
//
// One of them then answers as PostgreSQL does instead: `timestamptz - timestamptz`.

#include "duckdb.hpp"
#include "duckdb/catalog/catalog.hpp"
#include "duckdb/catalog/catalog_entry/scalar_function_catalog_entry.hpp"
#include "duckdb/common/types/interval.hpp"
#include "duckdb/common/vector_operations/binary_executor.hpp"
#include "duckdb/main/capi/capi_internal.hpp"
#include "duckdb/main/client_context.hpp"
#include "duckdb/main/connection.hpp"
#include "icu_extension.hpp"

#include <cstring>

namespace {

// PostgreSQL subtracts two time stamps with time zone as instants: the microseconds
// between them, as days of 24 hours and the rest (its justify_hours). ICU's `-` counts
// calendar days in the session's zone, which is an hour off across a DST change.
void InstantDifference(duckdb::DataChunk &args, duckdb::ExpressionState &, duckdb::Vector &result) {
	duckdb::BinaryExecutor::Execute<duckdb::timestamp_t, duckdb::timestamp_t, duckdb::interval_t>(
	    args.data[0], args.data[1], result, args.size(),
	    [](duckdb::timestamp_t a, duckdb::timestamp_t b) { return duckdb::Interval::GetDifference(a, b); });
}

// Points the `-` overload for (TIMESTAMP WITH TIME ZONE, TIMESTAMP WITH TIME ZONE) that
// ICU registered at InstantDifference. Runs once, before any session binds a statement.
void UseInstantDifference(duckdb::DatabaseInstance &db) {
	duckdb::Connection con(db);
	con.context->RunFunctionInTransaction([&]() {
		auto &catalog = duckdb::Catalog::GetSystemCatalog(*con.context);
		auto &entry = catalog.GetEntry<duckdb::ScalarFunctionCatalogEntry>(*con.context, DEFAULT_SCHEMA, "-");
		for (auto &function : entry.functions.functions) {
			auto &args = function.arguments;
			if (args.size() == 2 && args[0].id() == duckdb::LogicalTypeId::TIMESTAMP_TZ &&
			    args[1].id() == duckdb::LogicalTypeId::TIMESTAMP_TZ) {
				function.function = InstantDifference;
			}
		}
	});
}

} // namespace

extern "C" char *mallard_icu_load(duckdb_database database) {
	try {
		auto wrapper = reinterpret_cast<duckdb::DatabaseWrapper *>(database);
		wrapper->database->LoadStaticExtension<duckdb::IcuExtension>();
		UseInstantDifference(*wrapper->database->instance);
		return nullptr;
	} catch (std::exception &error) {
		return strdup(error.what());
	} catch (...) {
		return strdup("unknown error while loading the ICU extension");
	}
}
