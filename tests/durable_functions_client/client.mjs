// Drives durable's HTTP API with Azure Durable Functions' own Node.js client, the npm
// package `durable-functions`, as a Functions app would use it: a DurableClient made
// from the client binding's data, in both forms a Functions host gives it, calls at
// `rpcBaseUrl`, and the older webhook URL templates (with `taskHub`, `connection` and
// `code` in every query).
//
//   node client.mjs http://127.0.0.1:8080/api/
//
// The API serves `order` (input {item, qty}, output "<item> x<qty> approved by <by>"
// once event `approval` {by} is raised). Prints one JSON line of what it saw; on any
// mismatch, exits 1 with the reason.
import functions from "@azure/functions";
import df from "durable-functions";

const { InvocationContext } = functions;

/** The page size the API answers with when none is asked (the client asks none). */
const PAGE = 100;
/** Instances started per form: more than a page, so lists take several. */
const BULK = PAGE + 10;

class Mismatch extends Error {}

function check(ok, what, seen) {
  if (!ok) {
    const json = JSON.stringify(seen) ?? String(seen);
    const detail = seen === undefined ? "" : `; saw ${json.length > 300 ? `${json.slice(0, 300)}…` : json}`;
    throw new Mismatch(`${what}${detail}`);
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Calls `read` until `done(value)`, for at most 20 s. */
async function until(what, read, done) {
  let value;
  for (let i = 0; i < 400; i++) {
    value = await read();
    if (done(value)) return value;
    await sleep(50);
  }
  throw new Mismatch(`timed out waiting until ${what}; last saw ${JSON.stringify(value)}`);
}

/** Whether `promise` rejects with a message containing `text`. */
async function rejects(promise, text) {
  try {
    await promise;
  } catch (error) {
    return String(error.message).includes(text) ? true : String(error.message);
  }
  return "it resolved";
}

/** The client binding's data as a Functions host gives it, pointing at `base`. */
function clientData(base, rpc) {
  const query = "taskHub=durable&connection=Storage&code=secret";
  const instance = `${base}instances/INSTANCEID`;
  const create = `${base}orchestrators/{functionName}[/{instanceId}]`;
  return {
    taskHubName: "durable",
    creationUrls: {
      createNewInstancePostUri: `${create}?code=secret`,
      createAndWaitOnNewInstancePostUri: `${create}?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=secret`,
    },
    managementUrls: {
      id: "INSTANCEID",
      statusQueryGetUri: `${instance}?${query}`,
      sendEventPostUri: `${instance}/raiseEvent/{eventName}?${query}`,
      terminatePostUri: `${instance}/terminate?reason={text}&${query}`,
      rewindPostUri: `${instance}/rewind?reason={text}&${query}`,
      purgeHistoryDeleteUri: `${instance}?${query}`,
      restartPostUri: `${instance}/restart?${query}`,
      suspendPostUri: `${instance}/suspend?reason={text}&${query}`,
      resumePostUri: `${instance}/resume?reason={text}&${query}`,
    },
    baseUrl: base.replace(/\/$/, ""),
    requiredQueryStringParameters: query,
    ...(rpc ? { rpcBaseUrl: base } : {}),
  };
}

/** A DurableClient the way a function gets one: `df.getClient(context)`. */
function durableClient(base, rpc) {
  const binding = df.input.durableClient();
  const context = new InvocationContext({
    functionName: "client",
    options: { extraInputs: [binding] },
    logHandler: () => {},
  });
  context.extraInputs.set(binding, clientData(base, rpc));
  return df.getClient(context);
}

/** The ids of a list, which Durable Functions answers as a JSON array. */
function ids(list) {
  check(Array.isArray(list), "a list is a JSON array", list);
  return list.map((status) => status.instanceId);
}

/** Every call of the client, on instances named `<form>-...`. */
async function drive(client, form, base) {
  const since = new Date();
  const id = `${form}-order`;
  const input = { item: "book", qty: 2 };
  const seen = {};

  // start with an id and input; the status shows it waiting
  const started = await client.startNew("order", { instanceId: id, input });
  check(started === id, `startNew answers the id ${id}`, started);
  const waiting = await until(
    `${id} runs`,
    () => client.getStatus(id),
    (s) => s.runtimeStatus === "Running",
  );
  check(waiting.name === "order", "getStatus: name", waiting);
  check(JSON.stringify(waiting.input) === JSON.stringify(input), "getStatus: input", waiting);
  check(waiting.output === null, "getStatus: no output yet", waiting);
  check(waiting.createdTime instanceof Date && !isNaN(waiting.createdTime), "createdTime", waiting);

  // raise the event, wait for completion
  await client.raiseEvent(id, "approval", { by: "ann" });
  const response = await client.waitForCompletionOrCreateCheckStatusResponse({ url: base }, id, {
    timeoutInMilliseconds: 20000,
    retryIntervalInMilliseconds: 50,
  });
  check(response.status === 200, "waitForCompletion…: 200 once completed", response.status);
  const output = await response.json();
  check(output === "book x2 approved by ann", "waitForCompletion…: the output", output);
  const done = await client.getStatus(id);
  check(done.runtimeStatus === "Completed", "getStatus: Completed", done);
  check(done.output === output, "getStatus: the output", done);
  seen.output = done.output;

  // more than a page of waiting instances
  const bulk = Array.from({ length: BULK }, (_, i) => `${form}-bulk-${String(i).padStart(3, "0")}`);
  for (let i = 0; i < bulk.length; i += 10) {
    await Promise.all(
      bulk
        .slice(i, i + 10)
        .map((b, j) => client.startNew("order", { instanceId: b, input: { item: "pen", qty: i + j + 1 } })),
    );
  }
  const running = await until(
    `the ${BULK} ${form}-bulk instances run`,
    () => client.getStatusBy({ runtimeStatus: [df.OrchestrationRuntimeStatus.Running] }),
    (list) => ids(list).filter((i) => i.startsWith(`${form}-bulk-`)).length === BULK,
  );
  check(running.every((s) => s.runtimeStatus === "Running"), "getStatusBy Running: only Running", running.length);

  // lists: all pages, no instance twice
  const all = await client.getStatusAll();
  check(Array.isArray(all), "getStatusAll answers an array", typeof all);
  check(new Set(ids(all)).size === all.length, "getStatusAll: no instance twice", all.length);
  const mine = ids(all).filter((i) => i.startsWith(`${form}-`));
  check(mine.length === BULK + 1, `getStatusAll: every ${form} instance`, mine.length);
  check(all.length > PAGE, "getStatusAll: more than one page", all.length);
  seen.listed = all.length;
  const completed = await client.getStatusBy({ runtimeStatus: [df.OrchestrationRuntimeStatus.Completed] });
  check(ids(completed).includes(id), "getStatusBy Completed: the order", ids(completed));
  check(!ids(completed).some((i) => i.startsWith(`${form}-bulk-`)), "getStatusBy Completed: no bulk", ids(completed));
  const recent = await client.getStatusBy({
    createdTimeFrom: since,
    runtimeStatus: [df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Completed],
  });
  check(
    JSON.stringify(ids(recent).sort()) === JSON.stringify([...bulk, id].sort()),
    "getStatusBy createdTimeFrom: this form's instances only",
    ids(recent).length,
  );
  seen.running = running.length;
  seen.completed = completed.length;

  // terminate one
  const [ended, paused, busy] = bulk;
  await client.terminate(ended, "not needed");
  const terminated = await until(
    `${ended} is terminated`,
    () => client.getStatus(ended),
    (s) => s.runtimeStatus === "Terminated",
  );
  seen.terminated = terminated.runtimeStatus;
  await client.terminate(ended, "again"); // 410: the client takes it as done
  await client.raiseEvent(ended, "approval", { by: "late" }); // 410 as well

  // suspend one: the event waits until it resumes
  await client.suspend(paused, "hold");
  await until(`${paused} is suspended`, () => client.getStatus(paused), (s) => s.runtimeStatus === "Suspended");
  await client.raiseEvent(paused, "approval", { by: "bo" });
  await sleep(200);
  const held = await client.getStatus(paused);
  check(held.runtimeStatus === "Suspended", "a suspended instance holds the event", held);
  await client.resume(paused, "go");
  const resumed = await until(
    `${paused} completes once resumed`,
    () => client.getStatus(paused),
    (s) => s.runtimeStatus === "Completed",
  );
  check(resumed.output === "pen x2 approved by bo", "the resumed instance's output", resumed);
  seen.resumed = resumed.output;

  // purge
  const purged = await client.purgeInstanceHistory(id);
  check(purged.instancesDeleted === 1, "purgeInstanceHistory: one deleted", purged);
  const gone = await rejects(client.getStatus(id), "404");
  check(gone === true, "getStatus of a purged instance: 404", gone);
  const ghost = await client.purgeInstanceHistory(`${form}-ghost`);
  check(ghost.instancesDeleted === 0, "purgeInstanceHistory of no instance: none deleted", ghost);
  const refused = await rejects(client.purgeInstanceHistory(busy), "409");
  check(refused === true, "purgeInstanceHistory of a running instance: refused", refused);
  const unknown = await rejects(client.raiseEvent(`${form}-ghost`, "approval", { by: "x" }), "No instance");
  check(unknown === true, "raiseEvent to no instance: refused", unknown);
  seen.purged = purged.instancesDeleted;
  return seen;
}

async function main() {
  const arg = process.argv[2];
  if (!arg) {
    throw new Mismatch("usage: node client.mjs <the API's base URL, e.g. http://127.0.0.1:8080/api/>");
  }
  // the client resolves paths against it: it must end in `/`
  const base = arg.endsWith("/") ? arg : `${arg}/`;
  // as the Functions host sets it; without it, the client points the webhook URLs at
  // a local host's http://localhost:7071
  process.env.WEBSITE_HOSTNAME = new URL(base).host;
  const results = {};
  for (const [form, rpc] of [
    ["rpc", true],
    ["webhooks", false],
  ]) {
    try {
      results[form] = await drive(durableClient(base, rpc), form, base);
    } catch (error) {
      error.message = `${form}: ${error.message}`;
      throw error;
    }
  }
  console.log(JSON.stringify({ ok: true, ...results }));
}

main().catch((error) => {
  const what = error instanceof Mismatch ? "mismatch" : "error";
  console.error(`durable-functions client: ${what}: ${error.stack || error}`);
  process.exit(1);
});
