// listen / closeServer: the port-in-use error every server reports, the URL form, and a close that idle clients cannot hold up.
import { test } from "node:test";
import assert from "node:assert/strict";
import { closeServer, listen, PortInUseError } from "../../src/http/listen.js";

const hello = () => new Response("hello");

test("listen binds a free port for 0 and names a taken port with PortInUseError", async () => {
  const first = await listen(hello, 0, "127.0.0.1");
  try {
    assert.ok(first.port > 0);
    assert.equal(first.url, `http://127.0.0.1:${first.port}`);
    assert.equal(await (await fetch(first.url)).text(), "hello");
    await assert.rejects(listen(hello, first.port, "127.0.0.1"), (err: Error) => {
      assert.ok(err instanceof PortInUseError);
      assert.match(err.message, new RegExp(`port ${first.port} is in use: pass --port 0`));
      return true;
    });
  } finally {
    await closeServer(first.server);
  }
});

test("a server on every interface is reached at 127.0.0.1", async () => {
  const all = await listen(hello, 0, "0.0.0.0");
  try {
    assert.equal(all.url, `http://127.0.0.1:${all.port}`);
    assert.equal(await (await fetch(all.url)).text(), "hello");
  } finally {
    await closeServer(all.server);
  }
});

test("closeServer resolves while a response is still streaming (the dashboard's event stream), and frees the port", async () => {
  const endless = () => new Response(new ReadableStream({ start: c => c.enqueue(new TextEncoder().encode("event\n")) }));
  const s = await listen(endless, 0, "127.0.0.1");
  const res = await fetch(s.url);
  const reader = res.body!.getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value), "event\n");
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<string>(resolve => { timer = setTimeout(() => resolve("still open after 20 s"), 20_000); });
  assert.equal(await Promise.race([closeServer(s.server).then(() => "closed"), stuck]), "closed");
  clearTimeout(timer);
  await reader.read().catch(() => undefined); // the client sees its stream cut
  const again = await listen(endless, s.port, "127.0.0.1");
  await closeServer(again.server);
});
