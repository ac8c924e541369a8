// Loads the ICU extension compiled into this binary into a DuckDB database opened through
// DuckDB's C API. The C API's `duckdb_database` is a DatabaseWrapper holding the DuckDB
// object; LoadStaticExtension registers the extension's functions, casts and settings
// (TimeZone, Calendar) exactly as DuckDB does for extensions built into its own binaries.

#include "duckdb.hpp"
#include "duckdb/main/capi/capi_internal.hpp"
#include "icu_extension.hpp"

#include <cstring>

extern "C" char *mallard_icu_load(duckdb_database database) {
	try {
		auto wrapper = reinterpret_cast<duckdb::DatabaseWrapper *>(database);
		wrapper->database->LoadStaticExtension<duckdb::IcuExtension>();
		return nullptr;
	} catch (std::exception &error) {
		return strdup(error.what());
	} catch (...) {
		return strdup("unknown error while loading the ICU extension");
	}
}
