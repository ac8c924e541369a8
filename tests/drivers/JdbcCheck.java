// What pgjdbc does against a PostgreSQL server: typed PreparedStatement parameters, the
// switch to server-side prepared statements after prepareThreshold executions, batches,
// a rolled-back transaction and paging with setFetchSize (a portal read in pages).
//
// Run as a single source file:
//   java -cp postgresql.jar JdbcCheck.java "host=... port=... user=... dbname=..."
// Prints one line per check; the first failure exits 1 with what was expected and seen.

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TimeZone;
import java.util.UUID;
import org.postgresql.PGResultSetMetaData;

public class JdbcCheck {
    static final String TABLE = "drv_jdbc";
    static String step = "connect";

    static void check(String name, Object got, Object want) {
        if (!Objects.deepEquals(got, want)) {
            System.out.println("FAIL " + name + ": expected " + show(want) + ", got " + show(got));
            System.exit(1);
        }
        System.out.println("ok   " + name);
    }

    static String show(Object o) {
        return o instanceof byte[] ? Arrays.toString((byte[]) o) : String.valueOf(o);
    }

    /** A JDBC URL from libpq-style `key=value ...` words. */
    static String url(String conninfo) {
        Map<String, String> kv = new HashMap<>();
        for (String word : conninfo.trim().split("\\s+")) {
            int eq = word.indexOf('=');
            if (eq > 0) kv.put(word.substring(0, eq), word.substring(eq + 1));
        }
        return "jdbc:postgresql://" + kv.getOrDefault("host", "localhost") + ":" + kv.getOrDefault("port", "5432")
                + "/" + kv.getOrDefault("dbname", "postgres") + "?user=" + kv.getOrDefault("user", "postgres")
                + "&ApplicationName=JdbcCheck";
    }

    static long scalar(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static void parameters(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("drop table if exists " + TABLE);
            s.execute("create table " + TABLE + " (i int, l bigint, t text, n numeric(20,4), ts timestamp, "
                    + "d date, b boolean, bin bytea, u uuid)");
        }
        Timestamp ts = Timestamp.valueOf("2024-02-29 13:45:30.123456");
        Date day = Date.valueOf("1999-12-31");
        byte[] bytes = {0, 1, (byte) 0xfe, (byte) 0xff, '\\', '\''};
        UUID uuid = UUID.fromString("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
        BigDecimal amount = new BigDecimal("-12345.6789");
        try (PreparedStatement p = c.prepareStatement("insert into " + TABLE + " values (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            p.setInt(1, -42);
            p.setLong(2, 9_000_000_000L);
            p.setString(3, "héllo 'wörld'");
            p.setBigDecimal(4, amount);
            p.setTimestamp(5, ts);
            p.setDate(6, day);
            p.setBoolean(7, true);
            p.setBytes(8, bytes);
            p.setObject(9, uuid);
            check("insert with 9 typed parameters", p.executeUpdate(), 1);
        }
        try (PreparedStatement p = c.prepareStatement("select i, l, t, n, ts, d, b, bin, u from " + TABLE + " where i = ? and u = ?")) {
            p.setInt(1, -42);
            p.setObject(2, uuid);
            try (ResultSet rs = p.executeQuery()) {
                check("select by typed parameters finds the row", rs.next(), true);
                check("getInt", rs.getInt(1), -42);
                check("getLong", rs.getLong(2), 9_000_000_000L);
                check("getString", rs.getString(3), "héllo 'wörld'");
                check("getBigDecimal", rs.getBigDecimal(4), amount);
                check("getTimestamp", rs.getTimestamp(5), ts);
                check("getDate", rs.getDate(6), day);
                check("getBoolean", rs.getBoolean(7), true);
                check("getBytes", rs.getBytes(8), bytes);
                check("getObject uuid", rs.getObject(9), uuid);
                check("one row only", rs.next(), false);
            }
        }
        // Parameters straight back through expressions.
        try (PreparedStatement p = c.prepareStatement("select ?::int4 + 1, ?::text || 'x', ?::numeric * 2, ?::bool")) {
            p.setInt(1, 41);
            p.setString(2, "ab");
            p.setBigDecimal(3, new BigDecimal("1.25"));
            p.setBoolean(4, false);
            try (ResultSet rs = p.executeQuery()) {
                rs.next();
                check("expressions over parameters",
                        List.of(rs.getInt(1), rs.getString(2), rs.getBigDecimal(3), rs.getBoolean(4)),
                        List.of(42, "abx", new BigDecimal("2.50"), false));
            }
        }
        try (PreparedStatement p = c.prepareStatement("select ?::int4")) {
            p.setNull(1, java.sql.Types.INTEGER);
            try (ResultSet rs = p.executeQuery()) {
                rs.next();
                check("NULL parameter", rs.getObject(1), null);
            }
        }
    }

    /** prepareThreshold is 5: executions 5 and later use a named server-side statement. */
    static void reusedStatement(Connection c) throws SQLException {
        List<String> got = new ArrayList<>(), want = new ArrayList<>();
        try (PreparedStatement p = c.prepareStatement("select ?::int8 * 3, ?::text, ? = 7")) {
            for (int i = 0; i < 12; i++) {
                p.setLong(1, i);
                p.setString(2, "v" + i);
                p.setInt(3, i);
                try (ResultSet rs = p.executeQuery()) {
                    rs.next();
                    got.add(rs.getLong(1) + "/" + rs.getString(2) + "/" + rs.getBoolean(3));
                }
                want.add(i * 3 + "/v" + i + "/" + (i == 7));
            }
        }
        check("one PreparedStatement executed 12 times", got, want);
        try (PreparedStatement p = c.prepareStatement("update " + TABLE + " set l = l + ? where i = ?")) {
            int total = 0;
            for (int i = 0; i < 10; i++) {
                p.setLong(1, 1);
                p.setInt(2, -42);
                total += p.executeUpdate();
            }
            check("update executed 10 times: counts", total, 10);
        }
        check("update executed 10 times: value", scalar(c, "select l from " + TABLE + " where i = -42"), 9_000_000_010L);
    }

    static void batch(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("drop table if exists " + TABLE);
            s.execute("create table " + TABLE + " (id int, name text)");
        }
        try (PreparedStatement p = c.prepareStatement("insert into " + TABLE + " (id, name) values (?, ?)")) {
            for (int i = 1; i <= 50; i++) {
                p.setInt(1, i);
                p.setString(2, "n" + i);
                p.addBatch();
            }
            int[] counts = p.executeBatch();
            int[] ones = new int[50];
            Arrays.fill(ones, 1);
            check("executeBatch: 50 update counts of 1", counts, ones);
        }
        check("executeBatch: rows", scalar(c, "select count(*) from " + TABLE), 50L);
        check("executeBatch: sum", scalar(c, "select sum(id) from " + TABLE), 1275L);
        try (Statement s = c.createStatement()) {
            s.addBatch("insert into " + TABLE + " values (100, 'a')");
            s.addBatch("update " + TABLE + " set name = 'b' where id <= 10");
            s.addBatch("delete from " + TABLE + " where id > 40");
            check("Statement batch counts", s.executeBatch(), new int[] {1, 10, 11});
        }
        check("Statement batch: rows", scalar(c, "select count(*) from " + TABLE), 40L);
    }

    static void transaction(Connection c) throws SQLException {
        c.setAutoCommit(false);
        try (PreparedStatement p = c.prepareStatement("insert into " + TABLE + " (id, name) values (?, 'tx')")) {
            for (int i = 1000; i < 1005; i++) {
                p.setInt(1, i);
                p.executeUpdate();
            }
        }
        check("transaction: rows visible inside", scalar(c, "select count(*) from " + TABLE + " where name = 'tx'"), 5L);
        c.rollback();
        check("transaction: rows gone after rollback", scalar(c, "select count(*) from " + TABLE + " where name = 'tx'"), 0L);
        try (Statement s = c.createStatement()) {
            s.executeQuery("select 'x'::int4");
            check("bad input raised", false, true);
        } catch (SQLException e) {
            check("error inside a transaction: SQLSTATE", e.getSQLState(), "22P02");
        }
        c.rollback();
        check("usable after rollback of a failed transaction", scalar(c, "select count(*) from " + TABLE), 40L);
        c.setAutoCommit(true);
    }

    static void paging(Connection c) throws SQLException {
        int n = 10_000;
        c.setAutoCommit(false);
        for (int round = 0; round < 2; round++) {
            try (PreparedStatement p = c.prepareStatement("select i, 'row ' || i from generate_series(1, ?) as g(i)")) {
                p.setFetchSize(100);
                p.setInt(1, n);
                long count = 0, sum = 0;
                try (ResultSet rs = p.executeQuery()) {
                    while (rs.next()) {
                        count++;
                        sum += rs.getLong(1);
                        if (!rs.getString(2).equals("row " + rs.getLong(1))) check("row text", rs.getString(2), "row " + rs.getLong(1));
                    }
                }
                check("setFetchSize(100) over " + n + " rows, round " + round + ": count, sum",
                        List.of(count, sum), List.of((long) n, (long) n * (n + 1) / 2));
            }
        }
        c.commit();
        c.setAutoCommit(true);
    }

    /** The session's TimeZone in timestamptz text; advisory locks between sessions. */
    static void timeZonesAndLocks(Connection c, String url) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("set timezone = 'Asia/Kolkata'");
            try (ResultSet rs = s.executeQuery("select '2024-07-01 12:00:00+00'::timestamptz")) {
                rs.next();
                check("timestamptz text in the session's zone", rs.getString(1), "2024-07-01 17:30:00+05:30");
                check("the instant is the same", rs.getTimestamp(1).getTime(), 1_719_835_200_000L);
            }
            s.execute("reset timezone");
        }
        try (Connection other = DriverManager.getConnection(url)) {
            try (Statement s = c.createStatement()) {
                s.execute("select pg_advisory_lock(616)");
            }
            check("advisory lock held by another session", bool(other, "select pg_try_advisory_lock(616)"), false);
            check("advisory unlock", bool(c, "select pg_advisory_unlock(616)"), true);
            check("advisory lock free again", bool(other, "select pg_try_advisory_lock(616)"), true);
        }
    }

    static boolean bool(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /**
     * ResultSetMetaData: pgjdbc finds a column's table, nullability, default (serial) and
     * declared length from the table OID and column number of the RowDescription, through
     * the catalog; a computed column has none.
     */
    static void resultSetMetaData(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("create table drv_jdbc_rsmd (id serial primary key, name varchar(20) not null, "
                    + "code char(2), amount numeric(10,2))");
            s.execute("insert into drv_jdbc_rsmd (name, code, amount) values ('a', 'xy', 1.25)");
        }
        try (PreparedStatement p = c.prepareStatement(
                "select id, name, code, amount, id + 1 as next from drv_jdbc_rsmd where id = ?")) {
            p.setInt(1, 1);
            try (ResultSet rs = p.executeQuery()) {
                ResultSetMetaData m = rs.getMetaData();
                PGResultSetMetaData pg = m.unwrap(PGResultSetMetaData.class);
                check("rsmd table of a column", m.getTableName(2), "drv_jdbc_rsmd");
                check("rsmd base column", pg.getBaseColumnName(2), "name");
                check("rsmd varchar type name", m.getColumnTypeName(2), "varchar");
                check("rsmd varchar precision", m.getPrecision(2), 20);
                check("rsmd varchar display size", m.getColumnDisplaySize(2), 20);
                check("rsmd not null", m.isNullable(2), ResultSetMetaData.columnNoNulls);
                check("rsmd nullable", m.isNullable(3), ResultSetMetaData.columnNullable);
                check("rsmd char type name", m.getColumnTypeName(3), "bpchar");
                check("rsmd char precision", m.getPrecision(3), 2);
                check("rsmd serial is auto-increment", m.isAutoIncrement(1), true);
                check("rsmd numeric precision and scale", m.getPrecision(4) + "," + m.getScale(4), "10,2");
                check("rsmd computed column has no table", m.getTableName(5), "");
                check("rsmd computed column is not auto-increment", m.isAutoIncrement(5), false);
            }
        }
        try (Statement s = c.createStatement()) {
            s.execute("drop table drv_jdbc_rsmd");
        }
    }

    public static void main(String[] args) throws Exception {
        TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
        try (Connection c = DriverManager.getConnection(url(args.length > 0 ? args[0] : ""))) {
            System.out.println("connected: " + c.getMetaData().getDatabaseProductVersion() + ", pgjdbc "
                    + c.getMetaData().getDriverVersion());
            step = "parameters";
            parameters(c);
            step = "reused statement";
            reusedStatement(c);
            step = "batch";
            batch(c);
            step = "transaction";
            transaction(c);
            step = "paging";
            paging(c);
            step = "time zones and advisory locks";
            timeZonesAndLocks(c, url(args.length > 0 ? args[0] : ""));
            step = "result set metadata";
            resultSetMetaData(c);
            step = "cleanup";
            try (Statement s = c.createStatement()) {
                s.execute("drop table " + TABLE);
            }
        } catch (SQLException e) {
            System.out.println("FAIL in " + step + ": SQLSTATE " + e.getSQLState() + ": " + e.getMessage());
            System.exit(1);
        }
        System.out.println("all pgjdbc checks passed");
    }
}
