// LISTEN/NOTIFY as pgjdbc offers it: PGConnection.getNotifications(timeout) on a listening
// connection while a second one (on another worker of mallard) notifies, in autocommit
// and in transactions, and rolls one back.
//
// Run as a single source file:
//   java -cp postgresql.jar JdbcNotify.java "host=... port=... user=... dbname=..."
// Prints one line per check; the first failure exits 1 with what was expected and seen.

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

public class JdbcNotify {
    static void check(String name, Object got, Object want) {
        if (!Objects.equals(got, want)) {
            System.out.println("FAIL " + name + ": expected " + want + ", got " + got);
            System.exit(1);
        }
        System.out.println("ok   " + name);
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
                + "&ApplicationName=JdbcNotify";
    }

    static int pid(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("select pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    static void run(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** The next `n` notifications as "channel payload pid", waiting while idle. */
    static List<String> received(Connection listener, int n) throws SQLException {
        List<String> got = new ArrayList<>();
        long deadline = System.currentTimeMillis() + 10_000;
        while (got.size() < n && System.currentTimeMillis() < deadline) {
            PGNotification[] batch = listener.unwrap(PGConnection.class).getNotifications(1000);
            if (batch != null) {
                for (PGNotification x : batch) got.add(x.getName() + " " + x.getParameter() + " " + x.getPID());
            }
        }
        return got;
    }

    public static void main(String[] args) throws Exception {
        String url = url(args.length > 0 ? args[0] : "");
        try (Connection listener = DriverManager.getConnection(url);
                Connection sender = DriverManager.getConnection(url)) {
            int me = pid(listener);
            int them = pid(sender);
            run(listener, "LISTEN jobs");

            run(sender, "NOTIFY jobs, 'from pgjdbc'");
            check("NOTIFY arrives with the sender's pid", received(listener, 1), List.of("jobs from pgjdbc " + them));

            sender.setAutoCommit(false);
            try (PreparedStatement ps = sender.prepareStatement("select pg_notify(?, ?)")) {
                for (String payload : new String[] {"first", "second", "first"}) {
                    ps.setString(1, "jobs");
                    ps.setString(2, payload);
                    ps.executeQuery().close();
                }
            }
            sender.commit();
            check("a transaction's notifications, once each, in order", received(listener, 2),
                    List.of("jobs first " + them, "jobs second " + them));

            run(sender, "NOTIFY jobs, 'rolled back'");
            sender.rollback();
            sender.setAutoCommit(true);
            run(sender, "NOTIFY jobs, 'after the rollback'");
            check("nothing from a rolled-back transaction", received(listener, 1),
                    List.of("jobs after the rollback " + them));

            run(listener, "NOTIFY jobs, 'self'");
            check("a session hears itself", received(listener, 1), List.of("jobs self " + me));

            run(listener, "UNLISTEN *");
            run(listener, "LISTEN marks");
            run(sender, "NOTIFY jobs, 'unheard'");
            run(sender, "NOTIFY marks, 'heard'");
            check("nothing after UNLISTEN *", received(listener, 1), List.of("marks heard " + them));
        }
        System.out.println("all pgjdbc notification checks passed");
    }
}
