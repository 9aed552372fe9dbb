#!/usr/bin/env node
// agent-day.mjs lives one day of an AI agent's work against
// `bill-mcp serve --emulator`, through the official TypeScript SDK client
// (@modelcontextprotocol/sdk), and asserts every answer it gets.
//
//   node agent-day.mjs --transport stdio --binary ./bill-mcp
//   node agent-day.mjs --transport http  --binary ./bill-mcp [--port 18808]
//
// The day: create a customer with two contacts; bulk-create 250 customers
// while receiving progress notifications; find one by name and update its
// email; add a bank account (masked in every answer); delete and undelete;
// find a customer by email and update it; onboard a customer with a contact
// in one call, twice (the second creates nothing); upsert 300 rows of which
// 100 exist, twice (the second changes nothing).
//
// On success it prints one JSON line with a summary on stdout and exits 0;
// on the first failed assertion it prints what was expected, what came back
// and the server's stderr tail on stderr, and exits 1. e2e_test.go runs it
// under `go test`.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import net from "node:net";
import { parseArgs } from "node:util";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";

// The protocol version today's clients speak; DESIGN.md pins tests to it.
const PROTOCOL_VERSION = "2025-11-25";

// The tool contract (DESIGN.md): names agents and configs depend on.
const EXPECTED_TOOLS = [
  "create_customer", "get_customer", "update_customer", "delete_customer",
  "undelete_customer", "list_customers", "find_customers", "upsert_customers",
  "onboard_customer", "bulk_create_customers",
  "bulk_update_customers", "bulk_delete_customers", "bulk_undelete_customers",
  "create_customer_contact", "get_customer_contact", "update_customer_contact",
  "delete_customer_contact", "undelete_customer_contact", "list_customer_contacts",
  "find_customer_contacts",
  "bulk_create_customer_contacts", "bulk_update_customer_contacts",
  "bulk_delete_customer_contacts", "bulk_undelete_customer_contacts",
  "create_customer_bank_account", "get_customer_bank_account",
  "delete_customer_bank_account", "list_customer_bank_accounts",
].sort();

const BULK_COUNT = 250;
const ACCOUNT_NUMBER = "4417123456789012";
const ROUTING_NUMBER = "021000021";

const RE = {
  customerId: /^0cu[0-9A-Za-z]{17}$/,
  contactId: /^cpu[0-9A-Za-z]{17}$/,
  bankAccountId: /^cba[0-9A-Za-z]{17}$/,
  // BILL's timestamp format: 2016-12-09T21:38:40.000+0000
  time: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$/,
  // "<CODE>: <plain message> ... Next: <what to do>"
  toolError: /^(BDC_\d{4}|[A-Z][A-Z_]+): \S.*Next: \S/s,
};

// A request a client without the token would send first.
const initializeBody = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "no-token", version: "0" } },
});
const mcpHeaders = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };

const { values: opts } = parseArgs({
  options: {
    transport: { type: "string", default: "stdio" },
    binary: { type: "string" },
    port: { type: "string" },
    timeout: { type: "string", default: "90" },
  },
  strict: true,
});

if (!opts.binary) usageExit("--binary PATH is required (the built bill-mcp)");
if (!["stdio", "http"].includes(opts.transport)) {
  usageExit(`--transport must be stdio or http, not ${JSON.stringify(opts.transport)}`);
}

function usageExit(msg) {
  process.stderr.write(`agent-day: ${msg}\nusage: node agent-day.mjs --transport stdio|http --binary PATH [--port N]\n`);
  process.exit(2);
}

// serverLog collects the server's stderr for failure reports and checks.
const serverLog = [];
// received collects every JSON-RPC message the client received, to check
// that no secret the agent must never see reached it.
const received = [];
const sent = [];
const transportErrors = [];
let child; // the HTTP server process (stdio: the SDK owns the process)

const watchdog = setTimeout(() => {
  fail(new Error(`the day did not finish within ${opts.timeout}s`));
}, Number(opts.timeout) * 1000);
watchdog.unref();

try {
  const summary = await liveTheDay();
  clearTimeout(watchdog);
  process.stdout.write(JSON.stringify(summary) + "\n");
  process.exit(0);
} catch (err) {
  fail(err);
}

function fail(err) {
  const tail = serverLog.join("").split("\n").slice(-40).join("\n");
  process.stderr.write(`agent-day (${opts.transport}) FAILED: ${err?.stack ?? err}\n`);
  if (err?.detail !== undefined) {
    process.stderr.write(`last answer: ${JSON.stringify(err.detail, null, 2)}\n`);
  }
  process.stderr.write(`--- server stderr (last 40 lines) ---\n${tail}\n`);
  child?.kill("SIGKILL");
  process.exit(1);
}

async function liveTheDay() {
  const started = Date.now();
  const client = new Client(
    { name: "bill-mcp-e2e-agent-day", version: "1.0.0" },
    { capabilities: {} },
  );
  let closing = false;
  client.onerror = (e) => {
    const msg = String(e?.message ?? e);
    // Closing aborts the HTTP transport's streams; and the SDK reports
    // progress it dropped itself (see the transport tap below).
    if (closing || msg.startsWith("Received a progress notification for an unknown token")) return;
    transportErrors.push(msg);
  };

  let transport;
  let bearer;
  let unauthorizedStatus;
  if (opts.transport === "stdio") {
    transport = new StdioClientTransport({
      command: opts.binary,
      args: ["serve", "--emulator"],
      env: { ...process.env },
      stderr: "pipe",
    });
    transport.stderr?.on("data", (b) => serverLog.push(b.toString()));
  } else {
    const port = opts.port ? Number(opts.port) : await freePort();
    bearer = randomBytes(24).toString("hex");
    const base = `http://127.0.0.1:${port}`;
    child = spawn(opts.binary, ["serve", "--emulator", "--transport", "http", "--addr", `127.0.0.1:${port}`], {
      env: { ...process.env, BILL_MCP_TOKEN: bearer },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (b) => serverLog.push(b.toString()));
    child.stderr.on("data", (b) => serverLog.push(b.toString()));
    unauthorizedStatus = await waitUntilServing(`${base}/mcp`);
    await assertRefused(`${base}/mcp`, { Authorization: `Bearer wrong-${bearer}` }, "a wrong bearer token");
    await assertRefused(`${base}/mcp`, { Authorization: `Basic ${Buffer.from(`x:${bearer}`).toString("base64")}` }, "a non-Bearer scheme");
    transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
    });
  }
  // Tap the transport both ways: the SDK hands progress notifications to
  // onprogress in a later microtask and drops those that arrive in the same
  // read as the final response (typescript-sdk#2580). The server holds a
  // result 10 ms after its last stdio notification, so they arrive apart
  // (50 runs in a row: every one reached onprogress); progress is asserted
  // on the wire, where a loaded machine cannot make the test flaky.
  transport.onmessage = (m) => received.push(m);
  const sendOriginal = transport.send.bind(transport);
  transport.send = (m, o) => {
    sent.push(m);
    return sendOriginal(m, o);
  };

  // Connect: the SDK offers its latest protocol version; the server must
  // accept today's version rather than fall back.
  assert.equal(LATEST_PROTOCOL_VERSION, PROTOCOL_VERSION, "SDK pin: this SDK no longer offers 2025-11-25 first; re-check the pin");
  await client.connect(transport);
  const init = received.find((m) => m.result?.protocolVersion);
  assert.ok(init, "no initialize result received");
  assert.equal(init.result.protocolVersion, PROTOCOL_VERSION, "negotiated protocol version");
  assert.ok(client.getServerCapabilities()?.tools, "server must declare the tools capability");
  const instructions = client.getInstructions() ?? "";
  assert.match(instructions, /emulator/i, "instructions must say plainly that this is the emulator, not BILL");

  const calls = { n: 0 };
  const call = async (name, args, options) => {
    calls.n++;
    const res = await client.callTool({ name, arguments: args }, undefined, options);
    return res;
  };
  // ok calls a tool that must succeed and returns its structuredContent,
  // already validated by the SDK against the tool's output schema.
  const ok = async (name, args, keys, options) => {
    const res = await call(name, args, options);
    check(() => {
      assert.notEqual(res.isError, true, `${name} returned isError: ${textOf(res)}`);
      assert.equal(typeof res.structuredContent, "object", `${name}: structuredContent missing`);
      assert.deepEqual(Object.keys(res.structuredContent).sort(), [...keys].sort(), `${name}: top-level keys of structuredContent`);
    }, res);
    return res.structuredContent;
  };
  // bad calls a tool that must fail as an isError result with a code, a
  // plain message and a next step.
  const bad = async (name, args, code) => {
    const res = await call(name, args);
    check(() => {
      assert.equal(res.isError, true, `${name} must fail`);
      const text = textOf(res);
      assert.match(text, RE.toolError, `${name}: error text must be "<CODE>: <message> ... Next: <step>"`);
      if (code) assert.ok(text.startsWith(`${code}: `), `${name}: error code must be ${code}, got ${text.slice(0, 40)}`);
      assert.doesNotMatch(text, /\b(goroutine|panic|runtime error|\.go:\d+)\b/, `${name}: Go internals leaked into the error`);
    }, res);
    return textOf(res);
  };

  // --- The catalogue: all 24 tools, each listable by a strict client. ---
  const { tools } = await client.listTools();
  check(() => {
    assert.deepEqual(tools.map((t) => t.name).sort(), EXPECTED_TOOLS, "tools/list names");
    for (const t of tools) {
      assert.equal(t.inputSchema?.type, "object", `${t.name}: inputSchema.type`);
      assert.equal(t.outputSchema?.type, "object", `${t.name}: outputSchema.type`);
      assert.ok(t.title || t.annotations?.title, `${t.name}: title`);
      for (const hint of ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"]) {
        assert.equal(typeof t.annotations?.[hint], "boolean", `${t.name}: annotations.${hint} must be set explicitly`);
      }
    }
  }, tools.map((t) => ({ name: t.name, annotations: t.annotations })));

  // --- 1. A new customer with two contacts. ---
  const acmeName = "Acme Corp";
  const { customer: acme } = await ok("create_customer", {
    name: acmeName,
    email: "billing@acme.example",
    companyName: "Acme Corporation",
    phone: "415-555-0100",
  }, ["customer"]);
  check(() => {
    assert.match(acme.id, RE.customerId, "customer id");
    assert.equal(acme.name, acmeName);
    assert.equal(acme.email, "billing@acme.example");
    assert.equal(acme.companyName, "Acme Corporation");
    assert.equal(acme.phone, "415-555-0100");
    assert.equal(acme.isActive, "1", "a new customer is active");
    assert.match(acme.createdTime, RE.time, "createdTime");
  }, acme);

  const contactSpecs = [
    { firstName: "Wile", lastName: "Coyote", email: "wile@acme.example", phone: "415-555-0101", timezoneId: "3" },
    { firstName: "Road", lastName: "Runner", email: "road@acme.example", timezoneId: "6" },
  ];
  const contacts = [];
  for (const spec of contactSpecs) {
    const { contact } = await ok("create_customer_contact", { customerId: acme.id, ...spec }, ["contact"]);
    check(() => {
      assert.match(contact.id, RE.contactId, "contact id");
      assert.equal(contact.customerId, acme.id, "contact belongs to the customer");
      for (const [k, v] of Object.entries(spec)) assert.equal(contact[k], v, `contact.${k}`);
      assert.equal(contact.isActive, "1");
      assert.match(contact.createdTime, RE.time, "contact createdTime");
    }, contact);
    contacts.push(contact);
  }
  const contactList = await ok("list_customer_contacts", { customerId: acme.id }, ["contacts", "paging"]);
  check(() => {
    assert.deepEqual(contactList.contacts.map((c) => c.id).sort(), contacts.map((c) => c.id).sort(), "the customer's contacts");
    assert.ok(contactList.contacts.every((c) => c.customerId === acme.id), "listed contacts belong to the customer");
    assert.equal(contactList.paging.count, 2, "paging.count");
    assert.equal(contactList.paging.start, 0, "paging.start");
    assert.equal(contactList.paging.hasMore, false, "paging.hasMore");
    assert.equal("nextStart" in contactList.paging, false, "no nextStart on the last page");
  }, contactList);

  // --- 2. Import 250 customers, watching progress. ---
  const bulkNames = Array.from({ length: BULK_COUNT }, (_, i) => `Northwind Branch ${String(i + 1).padStart(3, "0")}`);
  const progressSeenBySDK = [];
  const bulk = await ok("bulk_create_customers", {
    customers: bulkNames.map((name, i) => ({ name, email: `ap${i + 1}@northwind.example` })),
  }, ["ids", "importKey", "summary"], {
    onprogress: (p) => progressSeenBySDK.push(p),
    resetTimeoutOnProgress: true,
    timeout: 60_000,
  });
  const bulkIds = bulk.ids;
  const bulkRequest = sent.find((m) => m.method === "tools/call" && m.params?.name === "bulk_create_customers");
  const progressToken = bulkRequest?.params?._meta?.progressToken;
  assert.notEqual(progressToken, undefined, "the SDK must send a progressToken with the bulk call");
  const bulkResponseAt = received.findIndex((m) => m.id === bulkRequest.id && ("result" in m || "error" in m));
  const progress = [];
  received.forEach((m, i) => {
    if (m.method !== "notifications/progress" || m.params?.progressToken !== progressToken) return;
    assert.ok(i < bulkResponseAt,
      `progress ${m.params.progress}/${m.params.total} reached the client after the bulk result: ` +
      "clients drop progress for a finished request, so the agent never sees it");
    progress.push({ progress: m.params.progress, total: m.params.total, message: m.params.message });
  });
  check(() => {
    assert.deepEqual(bulk.summary, { total: BULK_COUNT, succeeded: BULK_COUNT, failed: 0 }, "bulk summary");
    assert.equal(bulk.ids.length, BULK_COUNT, "one id per item");
    bulk.ids.forEach((id, i) => assert.match(id, RE.customerId, `ids[${i}]`));
    assert.match(bulk.importKey, /^\S+$/, "importKey");
    assert.equal(new Set(bulkIds).size, BULK_COUNT, "every created customer has its own id");
  }, bulk);
  check(() => {
    assert.ok(progress.length >= 3, `expected >= 3 progress notifications for ${BULK_COUNT} items in chunks of 100, got ${progress.length}`);
    for (let i = 0; i < progress.length; i++) {
      assert.equal(progress[i].total, BULK_COUNT, `progress[${i}].total`);
      if (i > 0) assert.ok(progress[i].progress > progress[i - 1].progress, `progress must increase: ${progress[i - 1].progress} then ${progress[i].progress}`);
      assert.match(progress[i].message ?? "", /\d+ succeeded, \d+ failed/, `progress[${i}].message says done and failed`);
    }
    assert.equal(progress.at(-1).progress, BULK_COUNT, "the last progress notification reports all items done");
  }, progress);

  // Paging through what is there now: Acme plus the 250.
  const page1 = await ok("list_customers", { max: 100 }, ["customers", "paging"]);
  check(() => {
    assert.equal(page1.customers.length, 100);
    assert.deepEqual(page1.paging, { start: 0, max: 100, count: 100, hasMore: true, nextStart: 100 }, "first page's paging");
  }, page1.paging);
  const page3 = await ok("list_customers", { start: 200, max: 100 }, ["customers", "paging"]);
  check(() => {
    assert.equal(page3.customers.length, BULK_COUNT + 1 - 200);
    assert.deepEqual(page3.paging, { start: 200, max: 100, count: BULK_COUNT + 1 - 200, hasMore: false }, "last page's paging");
  }, page3.paging);
  const defaultPage = await ok("list_customers", {}, ["customers", "paging"]);
  check(() => {
    assert.ok(defaultPage.paging.max >= 1 && defaultPage.paging.max <= 100, `default page size must fit an agent's context (1..100), got ${defaultPage.paging.max}`);
    assert.equal(defaultPage.customers.length, defaultPage.paging.max);
    assert.equal(defaultPage.paging.hasMore, true);
    assert.equal(defaultPage.paging.nextStart, defaultPage.paging.max);
  }, defaultPage.paging);
  // List answers are compact records; fields asks for more, by name or all.
  check(() => {
    for (const c of defaultPage.customers) {
      assert.match(c.id, RE.customerId, "a compact record keeps its id");
      assert.equal("createdTime" in c, false, "a compact record leaves out createdTime");
    }
  }, defaultPage.customers[0]);
  const withFields = await ok("list_customers", { max: 2, fields: ["createdTime"] }, ["customers", "paging"]);
  check(() => {
    for (const c of withFields.customers) assert.equal(typeof c.createdTime, "string", "fields adds createdTime");
  }, withFields.customers);
  const seen = new Set([...page1.customers, ...page3.customers].map((c) => c.id));
  check(() => {
    assert.equal(seen.size, page1.customers.length + page3.customers.length, "pages do not overlap");
  });

  // --- 3. Find one by name (case-insensitive) and update its email. ---
  const target = 137;
  const found = await ok("list_customers", { nameContains: "northwind branch 137" }, ["customers", "paging"]);
  check(() => {
    assert.equal(found.customers.length, 1, "exactly one customer matches");
    assert.equal(found.customers[0].id, bulkIds[target - 1], "the match is the customer bulk-created as item 137");
    assert.equal(found.customers[0].name, "Northwind Branch 137");
    assert.equal(found.customers[0].email, "ap137@northwind.example");
    assert.equal(found.paging.count, 1, "paging.count");
    assert.equal(found.paging.hasMore, false, "paging.hasMore");
  }, found);
  const newEmail = "payables@northwind137.example";
  const { customer: updated } = await ok("update_customer", { customerId: found.customers[0].id, email: newEmail }, ["customer"]);
  check(() => {
    assert.equal(updated.id, found.customers[0].id);
    assert.equal(updated.email, newEmail, "update answers the new email");
    assert.equal(updated.name, "Northwind Branch 137", "update leaves the name alone");
  }, updated);
  const { customer: reread } = await ok("get_customer", { customerId: updated.id }, ["customer"]);
  check(() => {
    assert.equal(reread.email, newEmail, "get_customer sees the new email");
    assert.equal(reread.name, "Northwind Branch 137");
    assert.equal(reread.isActive, "1");
  }, reread);

  // --- 4. A bank account for Acme; the number never comes back whole. ---
  const last4 = ACCOUNT_NUMBER.slice(-4);
  const masked = new RegExp(`^[*xX•]+${last4}$`);
  const assertMasked = (label, value) => {
    const s = JSON.stringify(value);
    assert.ok(!s.includes(ACCOUNT_NUMBER), `${label}: the full account number came back`);
    assert.ok(!s.includes(ACCOUNT_NUMBER.slice(0, -4)), `${label}: the hidden digits came back`);
  };
  const bankRes = await call("create_customer_bank_account", {
    customerId: acme.id,
    nameOnAccount: "Acme Corporation",
    routingNumber: ROUTING_NUMBER,
    accountNumber: ACCOUNT_NUMBER,
    agreedWithTOS: true,
    nickname: "Operating",
    isSavings: false,
    isPersonalAcct: false,
  });
  check(() => {
    assert.notEqual(bankRes.isError, true, `create_customer_bank_account returned isError: ${textOf(bankRes)}`);
    assert.deepEqual(Object.keys(bankRes.structuredContent), ["bankAccount"]);
    assertMasked("create_customer_bank_account (whole result, text included)", bankRes);
  }, bankRes);
  const bank = bankRes.structuredContent.bankAccount;
  check(() => {
    assert.match(bank.id, RE.bankAccountId, "bank account id");
    assert.equal(bank.customerId, acme.id);
    assert.equal(bank.nameOnAccount, "Acme Corporation");
    assert.equal(bank.nickname, "Operating");
    assert.match(bank.accountNumber, masked, "accountNumber masked, last 4 visible");
    assert.equal(bank.isActive, "1");
  }, bank);
  const gotBankRes = await call("get_customer_bank_account", { bankAccountId: bank.id });
  check(() => {
    assert.notEqual(gotBankRes.isError, true, textOf(gotBankRes));
    assert.equal(gotBankRes.structuredContent.bankAccount.id, bank.id);
    assert.match(gotBankRes.structuredContent.bankAccount.accountNumber, masked);
    assertMasked("get_customer_bank_account", gotBankRes);
  }, gotBankRes);
  const bankList = await ok("list_customer_bank_accounts", { customerId: acme.id }, ["bankAccounts", "paging"]);
  check(() => {
    assert.deepEqual(bankList.bankAccounts.map((b) => b.id), [bank.id]);
    assert.match(bankList.bankAccounts[0].accountNumber, masked);
    assert.equal(bankList.paging.count, 1);
    assertMasked("list_customer_bank_accounts", bankList);
  }, bankList);

  // A mistake the agent can recover from: an id that does not exist.
  const missing = "0cuNOSUCHCUSTOMER000";
  assert.ok(!bulkIds.includes(missing) && missing !== acme.id);
  await bad("get_customer", { customerId: missing }, "BDC_1120");

  // --- 5. Delete (soft) and undelete Acme. ---
  const { customer: deleted } = await ok("delete_customer", { customerId: acme.id }, ["customer"]);
  check(() => {
    assert.equal(deleted.id, acme.id);
    assert.equal(deleted.isActive, "2", "delete is soft: isActive becomes 2");
    assert.equal(deleted.name, acmeName);
  }, deleted);
  const { customer: afterDelete } = await ok("get_customer", { customerId: acme.id }, ["customer"]);
  check(() => assert.equal(afterDelete.isActive, "2", "get_customer sees the customer inactive"), afterDelete);
  const inactive = await ok("list_customers", { isActive: "2" }, ["customers", "paging"]);
  check(() => {
    assert.deepEqual(inactive.customers.map((c) => c.id), [acme.id], "the only inactive customer is Acme");
  }, inactive);
  const { customer: restored } = await ok("undelete_customer", { customerId: acme.id }, ["customer"]);
  check(() => {
    assert.equal(restored.id, acme.id);
    assert.equal(restored.isActive, "1", "undelete restores: isActive becomes 1");
    assert.equal(restored.email, "billing@acme.example", "undelete keeps the customer's data");
  }, restored);
  const { customer: afterUndelete } = await ok("get_customer", { customerId: acme.id }, ["customer"]);
  check(() => assert.equal(afterUndelete.isActive, "1"), afterUndelete);
  // Its contacts survived the round trip.
  const contactsAfter = await ok("list_customer_contacts", { customerId: acme.id }, ["contacts", "paging"]);
  check(() => assert.equal(contactsAfter.contacts.length, 2), contactsAfter);

  // --- 6. Search instead of paging: find by email, then update. ---
  const byEmail = await ok("find_customers", { query: "AP42@northwind.example" }, ["customers", "total"]);
  check(() => {
    assert.ok(byEmail.customers.length >= 1, "find_customers by email finds the customer");
    assert.equal(byEmail.customers[0].id, bulkIds[41], "an exact email ranks first");
    assert.equal(byEmail.customers[0].email, "ap42@northwind.example");
    assert.ok(JSON.stringify(byEmail).length <= 2000, `a find answer stays small, got ${JSON.stringify(byEmail).length} bytes`);
  }, byEmail);
  const newPhone = "212-555-0142";
  await ok("update_customer", { customerId: byEmail.customers[0].id, phone: newPhone }, ["customer"]);
  const byPhone = await ok("find_customers", { query: newPhone }, ["customers", "total"]);
  check(() => {
    assert.deepEqual(byPhone.customers.map((c) => c.id), [bulkIds[41]], "the server's own update is found at once");
  }, byPhone);
  const wileFound = await ok("find_customer_contacts", { query: "wile@acme.example" }, ["contacts", "total"]);
  check(() => assert.equal(wileFound.contacts[0]?.id, contacts[0].id, "find_customer_contacts by email"), wileFound);

  // --- 7. Onboard in one call; the same call again creates nothing. ---
  const onboardArgs = {
    customer: { name: "Globex Corporation", email: "ap@globex.example", accNumber: "GLOBEX-1" },
    contacts: [{ firstName: "Hank", lastName: "Scorpio", email: "ops@globex.example" }],
  };
  const onboarded = await ok("onboard_customer", onboardArgs, ["complete", "customer", "contacts"]);
  check(() => {
    assert.equal(onboarded.complete, true);
    assert.equal(onboarded.customer.action, "created");
    assert.match(onboarded.customer.id, RE.customerId);
    assert.equal(onboarded.contacts[0].action, "created");
    assert.match(onboarded.contacts[0].id, RE.contactId);
  }, onboarded);
  const again = await ok("onboard_customer", onboardArgs, ["complete", "customer", "contacts"]);
  check(() => {
    assert.deepEqual(again.customer, { action: "reused", id: onboarded.customer.id }, "the customer is reused");
    assert.deepEqual(again.contacts, [{ action: "reused", id: onboarded.contacts[0].id, email: "ops@globex.example" }], "the contact is reused");
  }, again);
  const globexes = await ok("list_customers", { nameContains: "globex" }, ["customers", "paging"]);
  check(() => assert.equal(globexes.customers.length, 1, "one Globex, not two"), globexes);
  const globexContacts = await ok("list_customer_contacts", { customerId: onboarded.customer.id }, ["contacts", "paging"]);
  check(() => assert.equal(globexContacts.contacts.length, 1, "one contact, not two"), globexContacts);
  // Acme Corp exists: onboarding it reuses it and its contact, adds the new one.
  const acmeOnboard = await ok("onboard_customer", {
    customer: { name: "ACME CORP" },
    contacts: [{ firstName: "Wile", email: "wile@acme.example" }, { firstName: "Ops", email: "ops@acme.example" }],
  }, ["complete", "customer", "contacts"]);
  check(() => {
    assert.deepEqual(acmeOnboard.customer, { action: "reused", id: acme.id }, "Acme Corp found by name, case-insensitively");
    assert.deepEqual(acmeOnboard.contacts.map((c) => c.action), ["reused", "created"]);
    assert.equal(acmeOnboard.contacts[0].id, contacts[0].id);
  }, acmeOnboard);

  // --- 8. A CRM sync: 300 rows, 100 of which exist (50 of those changed). ---
  const rows = [];
  for (let i = 1; i <= 100; i++) {
    const name = `Northwind Branch ${String(i).padStart(3, "0")}`;
    rows.push({ name, email: i <= 50 ? `crm${i}@northwind.example` : `ap${i}@northwind.example` });
  }
  for (let i = 1; i <= 200; i++) rows.push({ name: `Southwind Branch ${String(i).padStart(3, "0")}`, email: `ap${i}@southwind.example` });
  const sync = await ok("upsert_customers", { matchOn: "name", customers: rows, importKey: "crm-sync-agent-day" }, ["summary", "ids"], { timeout: 60_000 });
  check(() => {
    assert.deepEqual(sync.summary, { total: 300, created: 200, updated: 50, unchanged: 50, failed: 0 }, "upsert summary");
    assert.equal(sync.ids.length, 300, "one id per row");
    assert.deepEqual(sync.ids.slice(0, 100), bulkIds.slice(0, 100), "existing rows keep their customers");
    assert.ok(sync.ids.slice(100).every((id) => RE.customerId.test(id)), "new rows get new ids");
  }, sync.summary);
  const resync = await ok("upsert_customers", { matchOn: "name", customers: rows, importKey: "crm-sync-agent-day" }, ["summary", "ids"], { timeout: 60_000 });
  check(() => {
    assert.deepEqual(resync.summary, { total: 300, created: 0, updated: 0, unchanged: 300, failed: 0 }, "the same sync again changes nothing");
    assert.deepEqual(resync.ids, sync.ids);
  }, resync.summary);
  const { customer: synced } = await ok("get_customer", { customerId: bulkIds[0] }, ["customer"]);
  check(() => assert.equal(synced.email, "crm1@northwind.example", "the changed row was updated"), synced);

  closing = true;
  await client.close();
  const exit = await stopServer();

  // What the agent received never held a credential or the bearer token.
  const wire = JSON.stringify(received);
  const secrets = ["demo-password", "demo-dev-key", ...(bearer ? [bearer] : [])];
  check(() => {
    for (const s of secrets) assert.ok(!wire.includes(s), `a secret reached the client: ${s.slice(0, 4)}...`);
    assert.deepEqual(transportErrors, [], "the client saw transport errors (stdout must carry MCP frames only)");
    assert.doesNotMatch(serverLog.join(""), /WARNING: DATA RACE/, "the race detector reported a data race in the server");
    assert.doesNotMatch(serverLog.join(""), /^panic: /m, "the server panicked");
  });

  return {
    transport: opts.transport,
    protocolVersion: init.result.protocolVersion,
    tools: tools.length,
    calls: calls.n,
    progress,
    progressSeenBySDK: progressSeenBySDK.length,
    upsert: sync.summary,
    unauthorizedStatus,
    serverExit: exit,
    ms: Date.now() - started,
  };
}

// check runs assertions and attaches the answer under test to a failure.
function check(fn, detail) {
  try {
    fn();
  } catch (err) {
    if (detail !== undefined) err.detail = detail;
    throw err;
  }
}

function textOf(res) {
  return (res?.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}


// waitUntilServing polls until the HTTP server answers, and asserts that
// its first answer, to a request without a token, is 401.
async function waitUntilServing(url) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before serving`);
    try {
      const res = await fetch(url, { method: "POST", headers: mcpHeaders, body: initializeBody });
      const body = await res.text();
      check(() => {
        assert.equal(res.status, 401, "a request without a bearer token must get 401");
        assert.ok(!body.includes("demo-password"), "401 body leaks a credential");
      }, { status: res.status, body: body.slice(0, 500) });
      return res.status;
    } catch (err) {
      if (err?.code === "ERR_ASSERTION") throw err;
      if (Date.now() > deadline) throw new Error(`server did not answer on ${url} within 30s: ${err?.cause?.code ?? err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function assertRefused(url, headers, what) {
  const res = await fetch(url, { method: "POST", headers: { ...mcpHeaders, ...headers }, body: initializeBody });
  const body = await res.text();
  check(() => assert.equal(res.status, 401, `a request with ${what} must get 401`), { status: res.status, body: body.slice(0, 500) });
}

// stopServer ends the HTTP server process (SIGTERM) and reports how it
// exited; the stdio server ends when the client closes its stdin.
async function stopServer() {
  if (!child) return null;
  if (child.exitCode !== null) throw new Error(`server exited early with ${child.exitCode}`);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  child.kill("SIGTERM");
  const timer = new Promise((resolve) => setTimeout(() => resolve(null), 10_000));
  const result = await Promise.race([exited, timer]);
  if (result === null) {
    child.kill("SIGKILL");
    throw new Error("server did not exit within 10s of SIGTERM");
  }
  return result;
}
