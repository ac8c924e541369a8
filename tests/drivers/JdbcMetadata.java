// What pgjdbc's DatabaseMetaData and ResultSetMetaData report about the catalog fixture
// (tests/catalog/fixture.sql), printed one line per row in a normalized form, so that the
// output against PostgreSQL 15 and against mallard can be compared line by line.
//
// Run as a single source file, against a server where the fixture has been loaded:
//   java -cp postgresql.jar JdbcMetadata.java "host=... port=... user=... dbname=..."
// Exits 0 when every call ran, 1 after printing the SQLException otherwise.
//
// Nothing install-specific is printed: no OIDs, no statistics, and the current database
// and user names are replaced by <database> and <user>. Rows keep the order the JDBC
// specification defines for the call; where it defines none they are sorted.
//
// With MALLARD_RECORD_MARKERS=1 in the environment, a `select 'mallard-record: <label>'`
// goes to the server before each call, so tests/catalog/record.sh can tell from the server
// log which call sent which statements. Tests leave it unset.

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TimeZone;
import org.postgresql.PGResultSetMetaData;

public class JdbcMetadata {
    static final boolean MARKERS = "1".equals(System.getenv("MALLARD_RECORD_MARKERS"));
    static final Set<String> TYPE_NAMES =
            Set.of("int4", "int8", "text", "varchar", "numeric", "bool", "date", "timestamp", "bytea", "float8");
    static final String[][] TABLES = {{"public", "customers"}, {"public", "orders"}, {"sales", "regions"}};

    static Connection conn;
    static String database;
    static String user;
    static String step = "connect";

    /** A JDBC URL from the libpq-style `key=value ...` words of the target. */
    static String jdbcUrl(String conninfo) {
        Map<String, String> words = new HashMap<>();
        for (String word : conninfo.trim().split("\\s+")) {
            int eq = word.indexOf('=');
            if (eq > 0) words.put(word.substring(0, eq), word.substring(eq + 1));
        }
        String host = words.getOrDefault("host", "localhost");
        String port = words.getOrDefault("port", "5432");
        String db = words.getOrDefault("dbname", "postgres");
        String u = words.getOrDefault("user", "postgres");
        return "jdbc:postgresql://" + host + ":" + port + "/" + db + "?user=" + u + "&ApplicationName=JdbcMetadata";
    }

    /** Starts a section: its header line, and the marker statement when recording. */
    static void section(String label, String... columns) throws SQLException {
        step = label;
        if (MARKERS) {
            try (Statement s = conn.createStatement()) {
                s.execute("select 'mallard-record: " + label + "'");
            }
        }
        System.out.println();
        System.out.println("# " + label + ": " + String.join(" | ", columns));
    }

    static String show(Object value) {
        if (value == null) return "null";
        String text = String.valueOf(value);
        if (text.isEmpty()) return "''";
        if (text.equals(database)) return "<database>";
        if (text.equals(user)) return "<user>";
        return text.replace("\\", "\\\\").replace("\n", "\\n");
    }

    /** The named columns of every row, in the order the result set gives them. */
    static List<String> rows(ResultSet rs, String... columns) throws SQLException {
        List<String> out = new ArrayList<>();
        try (rs) {
            while (rs.next()) {
                List<String> values = new ArrayList<>();
                for (String column : columns) values.add(show(rs.getObject(column)));
                out.add(String.join(" | ", values));
            }
        }
        return out;
    }

    static void print(List<String> lines) {
        for (String line : lines) System.out.println(line);
    }

    static List<String> sorted(List<String> lines) {
        List<String> copy = new ArrayList<>(lines);
        Collections.sort(copy);
        return copy;
    }

    static void schemas(DatabaseMetaData md) throws SQLException {
        String[] cols = {"TABLE_SCHEM", "TABLE_CATALOG"};
        section("getSchemas", cols);
        print(rows(md.getSchemas(), cols));
    }

    static void tables(DatabaseMetaData md) throws SQLException {
        String[] cols = {"TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE", "REMARKS"};
        section("getTables TABLE VIEW", cols);
        List<String> kept = new ArrayList<>();
        try (ResultSet rs = md.getTables(null, null, "%", new String[] {"TABLE", "VIEW"})) {
            while (rs.next()) {
                String schema = rs.getString("TABLE_SCHEM");
                if (!schema.equals("public") && !schema.equals("sales")) continue;
                List<String> values = new ArrayList<>();
                for (String column : cols) values.add(show(rs.getObject(column)));
                kept.add(String.join(" | ", values));
            }
        }
        print(kept);
    }

    static void columns(DatabaseMetaData md) throws SQLException {
        String[] cols = {"TABLE_SCHEM", "TABLE_NAME", "COLUMN_NAME", "TYPE_NAME", "DATA_TYPE", "COLUMN_SIZE",
                "DECIMAL_DIGITS", "NULLABLE", "IS_NULLABLE", "ORDINAL_POSITION", "COLUMN_DEF", "IS_AUTOINCREMENT",
                "REMARKS"};
        for (String[] t : TABLES) {
            section("getColumns " + t[0] + "." + t[1], cols);
            print(rows(md.getColumns(null, t[0], t[1], "%"), cols));
        }
    }

    static void primaryKeys(DatabaseMetaData md) throws SQLException {
        String[] cols = {"TABLE_SCHEM", "TABLE_NAME", "COLUMN_NAME", "KEY_SEQ", "PK_NAME"};
        for (String[] t : TABLES) {
            section("getPrimaryKeys " + t[0] + "." + t[1], cols);
            print(rows(md.getPrimaryKeys(null, t[0], t[1]), cols));
        }
    }

    static final String[] KEY_COLUMNS = {"PKTABLE_SCHEM", "PKTABLE_NAME", "PKCOLUMN_NAME", "FKTABLE_SCHEM",
            "FKTABLE_NAME", "FKCOLUMN_NAME", "KEY_SEQ", "UPDATE_RULE", "DELETE_RULE", "FK_NAME", "PK_NAME",
            "DEFERRABILITY"};

    static void foreignKeys(DatabaseMetaData md) throws SQLException {
        section("getImportedKeys public.orders", KEY_COLUMNS);
        print(rows(md.getImportedKeys(null, "public", "orders"), KEY_COLUMNS));
        section("getExportedKeys public.customers", KEY_COLUMNS);
        print(rows(md.getExportedKeys(null, "public", "customers"), KEY_COLUMNS));
    }

    static void indexes(DatabaseMetaData md) throws SQLException {
        // CARDINALITY and PAGES are statistics: left out.
        String[] cols = {"TABLE_SCHEM", "TABLE_NAME", "NON_UNIQUE", "INDEX_QUALIFIER", "INDEX_NAME", "TYPE",
                "ORDINAL_POSITION", "COLUMN_NAME", "ASC_OR_DESC", "FILTER_CONDITION"};
        for (String table : new String[] {"orders", "customers"}) {
            section("getIndexInfo public." + table, cols);
            print(rows(md.getIndexInfo(null, "public", table, false, false), cols));
        }
    }

    static void typeInfo(DatabaseMetaData md) throws SQLException {
        String[] cols = {"TYPE_NAME", "DATA_TYPE", "PRECISION", "LITERAL_PREFIX", "LITERAL_SUFFIX", "CREATE_PARAMS",
                "NULLABLE", "CASE_SENSITIVE", "SEARCHABLE", "UNSIGNED_ATTRIBUTE", "FIXED_PREC_SCALE",
                "AUTO_INCREMENT", "LOCAL_TYPE_NAME", "MINIMUM_SCALE", "MAXIMUM_SCALE", "NUM_PREC_RADIX"};
        section("getTypeInfo", cols);
        List<String> kept = new ArrayList<>();
        try (ResultSet rs = md.getTypeInfo()) {
            while (rs.next()) {
                if (!TYPE_NAMES.contains(rs.getString("TYPE_NAME"))) continue;
                List<String> values = new ArrayList<>();
                for (String column : cols) values.add(show(rs.getObject(column)));
                kept.add(String.join(" | ", values));
            }
        }
        // Rows of one DATA_TYPE come in no defined order.
        print(sorted(kept));
    }

    static void functions(DatabaseMetaData md) throws SQLException {
        // REMARKS and SPECIFIC_NAME (name_oid) are the server's own.
        String[] cols = {"FUNCTION_SCHEM", "FUNCTION_NAME", "FUNCTION_TYPE"};
        for (String schema : new String[] {"public", "sales"}) {
            section("getFunctions " + schema, cols);
            print(rows(md.getFunctions(null, schema, "%"), cols));
        }
        String[] columns = {"FUNCTION_SCHEM", "FUNCTION_NAME", "COLUMN_NAME", "COLUMN_TYPE", "DATA_TYPE", "TYPE_NAME",
                "ORDINAL_POSITION"};
        section("getFunctionColumns public", columns);
        print(rows(md.getFunctionColumns(null, "public", "%", "%"), columns));
    }

    static void resultSetMetaData() throws SQLException {
        section("ResultSetMetaData select * from orders", "name", "label", "type name", "type", "precision",
                "scale", "nullable", "autoincrement", "display size", "class", "table", "schema", "base schema",
                "base table", "base column");
        try (Statement s = conn.createStatement(); ResultSet rs = s.executeQuery("select * from orders")) {
            ResultSetMetaData m = rs.getMetaData();
            // pgjdbc's own interface: the base names come from the catalog, found by the table
            // OID and column number of the row description.
            PGResultSetMetaData pg = m.unwrap(PGResultSetMetaData.class);
            for (int i = 1; i <= m.getColumnCount(); i++) {
                Object[] values = {m.getColumnName(i), m.getColumnLabel(i), m.getColumnTypeName(i), m.getColumnType(i),
                        m.getPrecision(i), m.getScale(i), m.isNullable(i), m.isAutoIncrement(i),
                        m.getColumnDisplaySize(i), m.getColumnClassName(i), m.getTableName(i), m.getSchemaName(i),
                        pg.getBaseSchemaName(i), pg.getBaseTableName(i), pg.getBaseColumnName(i)};
                List<String> shown = new ArrayList<>();
                for (Object v : values) shown.add(show(v));
                System.out.println(String.join(" | ", shown));
            }
        }
    }

    public static void main(String[] args) {
        TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
        try (Connection c = DriverManager.getConnection(jdbcUrl(args.length > 0 ? args[0] : ""))) {
            conn = c;
            DatabaseMetaData md = c.getMetaData();
            database = c.getCatalog();
            user = md.getUserName();
            System.out.println("product: " + md.getDatabaseProductName() + " " + md.getDatabaseMajorVersion()
                    + ", pgjdbc " + md.getDriverVersion());
            schemas(md);
            tables(md);
            columns(md);
            primaryKeys(md);
            foreignKeys(md);
            indexes(md);
            typeInfo(md);
            functions(md);
            resultSetMetaData();
        } catch (SQLException e) {
            System.out.println("FAIL in " + step + ": SQLSTATE " + e.getSQLState() + ": " + e.getMessage());
            System.exit(1);
        }
        System.out.println();
        System.out.println("all pgjdbc metadata calls ran");
    }
}
