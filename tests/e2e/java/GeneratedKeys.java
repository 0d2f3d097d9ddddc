// pgjdbc's getGeneratedKeys() against a foreign table: the driver appends `RETURNING *` and, from
// the sixth execution on (prepareThreshold 5), runs a named server-side prepared statement.
// Prints `customer_key key` for each inserted row. Arguments: JDBC URL, partner_key, row count.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;

public class GeneratedKeys {
    public static void main(String[] args) throws Exception {
        int rows = Integer.parseInt(args[2]);
        try (Connection connection = DriverManager.getConnection(args[0])) {
            String sql = "INSERT INTO partnerstack.customers (email, partner_key, customer_key) VALUES (?, ?, ?)";
            try (PreparedStatement insert = connection.prepareStatement(sql, Statement.RETURN_GENERATED_KEYS)) {
                for (int i = 1; i <= rows; i++) {
                    insert.setString(1, "jdbc" + i + "@example.org");
                    insert.setString(2, args[1]);
                    insert.setString(3, "e2e-jdbc-" + i);
                    if (insert.executeUpdate() != 1) {
                        throw new IllegalStateException("row " + i + " not counted");
                    }
                    try (ResultSet keys = insert.getGeneratedKeys()) {
                        keys.next();
                        System.out.println(keys.getString("customer_key") + " " + keys.getString("key"));
                    }
                }
            }
        }
    }
}
