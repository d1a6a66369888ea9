// The image's HEALTHCHECK: asks the gateway's own grpc.health.v1 (overall service '') on 127.0.0.1:$PORT.
// Exit 0 when SERVING, 1 otherwise (NOT_SERVING while draining or without an agent, or no answer within 3 s).
// Plain JS with a hand-encoded message: no codegen or TypeScript needed at run time.
const grpc = require('@grpc/grpc-js');

const port = Number(process.env.PORT || 50051);
const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
const bytes = (b) => b;
// HealthCheckRequest{service: ''} encodes to zero bytes; a SERVING reply is field 1 (status) = 1: 0x08 0x01.
client.makeUnaryRequest('/grpc.health.v1.Health/Check', bytes, bytes, Buffer.alloc(0), { deadline: Date.now() + 3000 }, (err, reply) => {
  client.close();
  if (err) {
    console.error(`unhealthy: ${err.details || err.message}`);
    process.exit(1);
  }
  const serving = reply.length === 2 && reply[0] === 0x08 && reply[1] === 0x01;
  if (!serving) console.error('unhealthy: not SERVING');
  process.exit(serving ? 0 : 1);
});
