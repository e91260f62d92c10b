// Starts one OpenSearch node in this JVM for the local stack.
// Run with Java 17's single-file launcher: java -cp <jars> LocalOpenSearch.java BASE_DIR HTTP_PORT CLUSTER
// Unlike the runner's own main, it prints why a start failed and binds loopback only.
import org.codelibs.opensearch.runner.OpenSearchRunner;

public class LocalOpenSearch {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: LocalOpenSearch BASE_DIR HTTP_PORT CLUSTER_NAME");
            System.exit(2);
        }
        final String basePath = args[0];
        final int httpPort = Integer.parseInt(args[1]);
        final String clusterName = args[2];
        final OpenSearchRunner runner = new OpenSearchRunner();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (Exception e) {
                e.printStackTrace();
            }
        }));
        // The runner only probes ports up to 9299 unless told otherwise.
        runner.setMaxHttpPort(65535);
        try {
            runner.onBuild((number, settings) -> {
                settings.put("network.host", "127.0.0.1");
                settings.put("http.port", String.valueOf(httpPort));
                settings.put("transport.port", "0");
                settings.put("discovery.type", "single-node");
                settings.remove("cluster.initial_cluster_manager_nodes");
                settings.remove("cluster.initial_master_nodes");
                settings.remove("discovery.seed_hosts");
                settings.put("action.auto_create_index", "true");
                settings.put("cluster.routing.allocation.disk.threshold_enabled", "false");
            }).build(OpenSearchRunner.newConfigs()
                    .basePath(basePath)
                    .numOfNode(1)
                    .baseHttpPort(httpPort - 1)
                    .clusterName(clusterName)
                    .printOnFailure());
        } catch (Throwable t) {
            System.err.println("centralog: OpenSearch node failed to start");
            t.printStackTrace();
            System.exit(1);
        }
        System.out.println("centralog: OpenSearch node started on 127.0.0.1:" + httpPort);
        // The parent holds our stdin open; when it goes away (even by kill -9) we exit, so no JVM is orphaned.
        Thread watcher = new Thread(() -> {
            try {
                while (System.in.read() != -1) {
                    // ignore input
                }
            } catch (Exception ignored) {
                // treat as closed
            }
            System.out.println("centralog: parent closed stdin; stopping OpenSearch");
            System.exit(0);
        });
        watcher.setDaemon(true);
        watcher.start();
        while (!runner.isClosed()) {
            Thread.sleep(1000);
        }
    }
}
