// A plain pgjdbc pool across server reloads: five connections held open, each with its
// settings and server-side prepared statements (prepareThreshold=1, so pgjdbc names them
// from their first use), used in turn by five threads while the server reloads. Every
// statement must succeed, every connection keep its backend pid and settings.
//
// Run as a single source file:
//   java -cp postgresql.jar JdbcPoolReloads.java "host=... port=... user=... dbname=..."
// With RELOAD_COMMAND set (a shell command) it runs that command RELOADS times (default
// 5) while the connections work; without, they just work (the PostgreSQL reference).
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
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

public class JdbcPoolReloads {
    static final int SIZE = 5;

    static void check(String name, Object got, Object want) {
        if (!Objects.equals(got, want)) {
            System.out.println("FAIL " + name + ": expected " + want + ", got " + got);
            System.exit(1);
        }
        System.out.println("ok   " + name);
    }

    static String url(String conninfo) {
        Map<String, String> kv = new HashMap<>();
        for (String word : conninfo.trim().split("\\s+")) {
            int eq = word.indexOf('=');
            if (eq > 0) kv.put(word.substring(0, eq), word.substring(eq + 1));
        }
        return "jdbc:postgresql://" + kv.getOrDefault("host", "localhost") + ":" + kv.getOrDefault("port", "5432")
                + "/" + kv.getOrDefault("dbname", "postgres") + "?user=" + kv.getOrDefault("user", "postgres")
                + "&ApplicationName=JdbcPoolReloads&prepareThreshold=1";
    }

    static String one(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** A pooled connection and what it must keep showing. */
    record Pooled(Connection conn, String pid, String settings, PreparedStatement twice) {}

    public static void main(String[] args) throws Exception {
        String url = url(args[0]);
        String settings = "select current_setting('statement_timeout') || ' ' || current_setting('myapp.tag')";
        BlockingQueue<Pooled> pool = new ArrayBlockingQueue<>(SIZE);
        for (int i = 0; i < SIZE; i++) {
            Connection c = DriverManager.getConnection(url);
            try (Statement s = c.createStatement()) {
                s.execute("set statement_timeout = '" + (34567 + i) + "ms'");
                s.execute("set myapp.tag = 'jdbc-" + i + "'");
            }
            pool.add(new Pooled(c, one(c, "select pg_backend_pid()"), one(c, settings),
                    c.prepareStatement("select ?::int * 2, pg_backend_pid()::text")));
        }
        AtomicBoolean stop = new AtomicBoolean(false);
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        int[] runs = new int[SIZE];
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < SIZE; t++) {
            final int id = t;
            Thread thread = new Thread(() -> {
                int n = 0;
                while (!stop.get()) {
                    Pooled p = null;
                    try {
                        p = pool.poll(5, TimeUnit.SECONDS);
                        if (p == null) throw new IllegalStateException("no connection in the pool");
                        n++;
                        p.twice().setInt(1, n);
                        try (ResultSet rs = p.twice().executeQuery()) {
                            rs.next();
                            if (rs.getInt(1) != 2 * n || !rs.getString(2).equals(p.pid())) {
                                throw new IllegalStateException("got " + rs.getInt(1) + " from " + rs.getString(2)
                                        + ", connection pid " + p.pid());
                            }
                        }
                        if (n % 10 == 0 && !one(p.conn(), settings).equals(p.settings())) {
                            throw new IllegalStateException("settings changed on " + p.pid());
                        }
                        Thread.sleep(20);
                    } catch (Exception e) {
                        errors.add(e.toString());
                        return;
                    } finally {
                        if (p != null) pool.add(p);
                    }
                }
                runs[id] = n;
            });
            thread.start();
            threads.add(thread);
        }
        Thread.sleep(1000);
        String reload = System.getenv("RELOAD_COMMAND");
        int reloads = Integer.parseInt(Objects.requireNonNullElse(System.getenv("RELOADS"), "5"));
        if (reload != null) {
            for (int r = 0; r < reloads; r++) {
                Process p = new ProcessBuilder("sh", "-c", reload).inheritIO().start();
                check("reload " + (r + 1), p.waitFor(), 0);
                Thread.sleep(500);
            }
        } else {
            Thread.sleep(3000);
        }
        Thread.sleep(500);
        stop.set(true);
        for (Thread t : threads) t.join();
        check("errors", errors.isEmpty() ? "" : String.join("; ", errors), "");
        for (int t = 0; t < SIZE; t++) check("thread " + t + " ran", runs[t] > 10, true);
        for (Pooled p : pool) {
            check("pid of " + p.pid(), one(p.conn(), "select pg_backend_pid()"), p.pid());
            p.conn().close();
        }
    }
}
