// Starts kinesalite 3.3.3 as bench.sh runs it: in memory, zero state delays, a shard limit that never
// bites, on 127.0.0.1 only (its CLI listens on every interface and cannot pick a free port). The port
// is the first argument, 0 for any free one; it prints "Listening at http://127.0.0.1:<port>".
const kinesalite = require("kinesalite");

const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 10000 });
server.listen(Number(process.argv[2] || 0), "127.0.0.1", () => {
  console.log("Listening at http://127.0.0.1:%d", server.address().port);
});
process.on("SIGTERM", () => process.exit(0));
