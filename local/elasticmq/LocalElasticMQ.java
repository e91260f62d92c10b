// Starts ElasticMQ (an SQS-compatible server) in this JVM for the local stack.
// Run with Java 17's single-file launcher: java -Dconfig.file=<conf> -cp <jars> LocalElasticMQ.java
// ElasticMQ's own main keeps running after its parent dies; this one exits when our stdin closes.
public class LocalElasticMQ {
    public static void main(String[] args) throws Exception {
        Thread watcher = new Thread(() -> {
            try {
                while (System.in.read() != -1) {
                    // ignore input
                }
            } catch (Exception ignored) {
                // treat as closed
            }
            System.out.println("centralog: parent closed stdin; stopping ElasticMQ");
            System.exit(0);
        });
        watcher.setDaemon(true);
        watcher.start();
        org.elasticmq.server.Main.main(args);
    }
}
