import assert from "assert";
import { assertValidResources, translateKagent } from "../../lib/migrate/from_kagent.ts";
import { isKarsError } from "../../lib/errors.ts";

const agent = (spec: Record<string, unknown>, name = "a") => ({
  apiVersion: "kagent.dev/v1alpha2",
  kind: "Agent",
  metadata: { name },
  spec,
});
const mc = (spec: Record<string, unknown>, name = "m") => ({
  apiVersion: "kagent.dev/v1alpha2",
  kind: "ModelConfig",
  metadata: { name },
  spec,
});
const byo = (domains: unknown) =>
  agent({
    type: "BYO",
    byo: { deployment: { image: "img:1" } },
    sandbox: { network: { allowedDomains: domains } },
  });
const decl = (model: Record<string, unknown>) => [
  mc(model),
  agent({ declarative: { modelConfig: "m", systemMessage: "x" } }),
];

function hosts(docs: unknown[]) {
  const r = translateKagent(docs);
  return r.sandboxes[0].allowlist.map((e) => `${e.host}:${e.port}`);
}

Deno.test("provider endpoints: defaults, Azure, Vertex regions, SAP auth URL, Ollama default scheme", () => {
  assert.deepEqual(hosts(decl({ provider: "OpenAI", model: "gpt" })), ["api.openai.com:443"]);
  assert.deepEqual(
    hosts(decl({ model: "gpt" })),
    ["api.openai.com:443"],
    "provider defaults to OpenAI",
  );
  assert.deepEqual(hosts(decl({ provider: "Anthropic", model: "c" })), ["api.anthropic.com:443"]);
  assert.deepEqual(hosts(decl({ provider: "Gemini", model: "g" })), [
    "generativelanguage.googleapis.com:443",
  ]);
  assert.deepEqual(
    hosts(
      decl({
        provider: "GeminiVertexAI",
        model: "g",
        geminiVertexAI: { projectID: "p", location: "europe-west4" },
      }),
    ),
    ["europe-west4-aiplatform.googleapis.com:443"],
  );
  assert.deepEqual(
    hosts(
      decl({
        provider: "AnthropicVertexAI",
        model: "c",
        anthropicVertexAI: { projectID: "p", location: "global" },
      }),
    ),
    ["aiplatform.googleapis.com:443"],
  );
  assert.deepEqual(
    hosts(decl({
      provider: "SAPAICore",
      model: "m",
      sapAICore: {
        baseUrl: "https://api.ai.sap.example",
        authUrl: "https://auth.sap.example:4443/oauth",
        resourceGroup: "g",
        deploymentId: "d",
      },
    })),
    ["api.ai.sap.example:443", "auth.sap.example:4443"],
  );
  assert.deepEqual(
    hosts(
      decl({
        provider: "AzureOpenAI",
        model: "m",
        azureOpenAI: { azureEndpoint: "https://X.openai.azure.com" },
      }),
    ),
    ["x.openai.azure.com:443"],
  );
  assert.deepEqual(
    hosts(decl({ provider: "Ollama", model: "l", ollama: { host: "ollama:11434" } })),
    ["ollama:11434"],
  );
  assert.deepEqual(
    hosts(decl({ provider: "Ollama", model: "l", ollama: { host: "http://ollama" } })),
    ["ollama:80"],
  );
  const none = translateKagent(decl({ provider: "Ollama", model: "l" }));
  assert.deepEqual(none.sandboxes[0].allowlist, []);
  assert.ok(!none.lossy, "an unknown Ollama address is a note, not a loss");
});

Deno.test("allowedDomains: host:port, IDN, dedup; URLs, bad hosts and bad ports are input errors", () => {
  assert.deepEqual(hosts([byo(["A.example:8443", "a.example", "a.example:443", "münchen.de"])]), [
    "a.example:443",
    "a.example:8443",
    "xn--mnchen-3ya.de:443",
  ]);
  for (
    const [bad, re] of [
      ["https://api.example.com", /not a URL/],
      ["a..b", /allowedDomains\[0\].*double dot/],
      ["a.example:70000", /port 70000 is out of range/],
      ["has space.example", /allowedDomains\[0\]/],
    ] as const
  ) {
    assert.throws(() => translateKagent([byo([bad])]), (e: unknown) => {
      assert.ok(isKarsError(e, "INPUT"), String(e));
      assert.match(e.message, /document 1 \(Agent\/a\)/);
      assert.match(e.message, re);
      return true;
    });
  }
  assert.throws(() => translateKagent([byo("api.example.com")]), /allowedDomains: expected a list/);
});

Deno.test("wildcards and IPv6 are reported and left out (lossy); the rest stays", () => {
  const r = translateKagent([byo(["*.a.example", "b.example"])]);
  assert.ok(r.lossy);
  assert.deepEqual(r.sandboxes[0].allowlist, [{ host: "b.example", port: 443 }]);
  assert.equal(r.warnings[0].path, "Agent/a spec.sandbox.network.allowedDomains[0]");
  const v6 = translateKagent([
    {
      apiVersion: "kagent.dev/v1alpha2",
      kind: "RemoteMCPServer",
      metadata: { name: "s" },
      spec: { url: "https://[2001:db8::1]:8443/mcp" },
    },
    agent({
      declarative: {
        modelConfig: "m",
        tools: [{ type: "McpServer", mcpServer: { name: "s", kind: "RemoteMCPServer" } }],
      },
    }),
    mc({ provider: "OpenAI", model: "x" }),
  ]);
  assert.ok(v6.lossy);
  assert.match(
    v6.warnings.map((w) => w.message).join("\n"),
    /IPv6 address \[2001:db8::1\] left out/,
  );
  assert.deepEqual(v6.sandboxes[0].allowlist, [{ host: "api.openai.com", port: 443 }]);
});

Deno.test("secrets are never copied: an inline Azure AD token is dropped with a warning", () => {
  const r = translateKagent(decl({
    provider: "AzureOpenAI",
    model: "m",
    azureOpenAI: { azureEndpoint: "https://x.openai.azure.com", azureAdToken: "eyJsecret-token" },
  }));
  assert.ok(r.lossy);
  assert.ok(!JSON.stringify(r.resources).includes("eyJsecret-token"));
  assert.match(r.warnings[0].message, /inline Azure AD token dropped/);
  const h = translateKagent(decl({
    provider: "OpenAI",
    model: "m",
    defaultHeaders: { Authorization: "Bearer sk-live-123", "X-Team": "blue", "x-api-key": "k-456" },
  }));
  assert.ok(h.lossy);
  const text = JSON.stringify(h.resources);
  assert.ok(!text.includes("sk-live-123") && !text.includes("k-456"));
  assert.equal(h.resources[1].spec.defaultHeaders, undefined);
  assert.deepEqual(
    h.warnings.map((w) => w.path).filter((p) => p.includes("defaultHeaders")),
    [
      "ModelConfig/m spec.defaultHeaders.Authorization",
      "ModelConfig/m spec.defaultHeaders.X-Team",
      "ModelConfig/m spec.defaultHeaders.x-api-key",
    ],
  );
  assert.match(
    h.warnings.find((w) => w.path.endsWith("Authorization"))!.message,
    /credential header dropped/,
  );
});

Deno.test("options: namespace, isolation, image; bad options and bad documents", () => {
  const r = translateKagent([byo(["x.example"])], {
    namespace: "prod",
    isolation: "standard",
    image: "other:2",
  });
  const sb = r.resources[0];
  assert.equal(sb.metadata.namespace, "prod");
  assert.deepEqual(sb.spec.sandbox, { isolation: "standard" });
  assert.deepEqual(sb.spec.runtime, {
    kind: "BYO",
    byo: { image: "other:2", contractVersion: "v1" },
  });
  assert.throws(
    () => translateKagent([byo([])], { isolation: "max" as "standard" }),
    (e: unknown) =>
      isKarsError(e, "INPUT") && /^isolation must be one of standard, enhanced/.test(e.message) &&
      e.details?.option === "isolation",
  );
  assert.throws(
    () => translateKagent([byo([])], { namespace: "Prod" }),
    (e: unknown) =>
      isKarsError(e, "INPUT") && /not a valid namespace/.test(e.message) &&
      e.details?.option === "namespace",
  );
  assert.throws(() => translateKagent([]), /no kagent.dev\/v1alpha2 Agent/);
  assert.throws(() => translateKagent(["text"]), /document 1: expected a Kubernetes object/);
  assert.throws(() => translateKagent([{ kind: "Agent" }]), /document 1: apiVersion: missing/);
  assert.throws(() => translateKagent([byo([]), byo([])]), /a second Agent named a/);
  assert.throws(
    () => translateKagent([agent({ type: "BYO", byo: {} }, "x".repeat(60))]),
    (e: unknown) =>
      isKarsError(e, "INPUT") &&
      /default namespace "kars-x+" is not a valid namespace name; choose a namespace/.test(
        e.message,
      ) && JSON.stringify(e.details?.fixOptions) === '["namespace"]',
  );
  assert.throws(
    () =>
      translateKagent([
        mc({ provider: "Anthropic", model: "c", openAI: {} }),
        agent({ declarative: { modelConfig: "m" } }),
      ]),
    /spec.openAI: set, but spec.provider is Anthropic/,
  );
});

Deno.test("the same input always gives the same result", () => {
  const docs = [...decl({ provider: "OpenAI", model: "gpt" }), byo(["z.example", "a.example"])];
  (docs[2].metadata as { name: string }).name = "b";
  assert.deepEqual(translateKagent(structuredClone(docs)), translateKagent(structuredClone(docs)));
});

Deno.test("an agent with tools whose name cannot be a label value is an input error, not a bug", () => {
  const name = `a${"b".repeat(63)}`;
  const docs = [
    mc({ provider: "OpenAI", model: "x" }),
    {
      apiVersion: "kagent.dev/v1alpha2",
      kind: "RemoteMCPServer",
      metadata: { name: "s" },
      spec: { url: "https://mcp.example/mcp" },
    },
    agent({
      declarative: { modelConfig: "m", tools: [{ type: "McpServer", mcpServer: { name: "s" } }] },
    }, name),
  ];
  assert.throws(() => translateKagent(docs, { namespace: "ns" }), (e: unknown) => {
    assert.ok(isKarsError(e, "INPUT"), String(e));
    assert.match(e.message, /label value \(at most 63 characters\)/);
    return true;
  });
  // Without tools there is no label, and the long name is fine.
  const ok = translateKagent([docs[0], agent({ declarative: { modelConfig: "m" } }, name)], {
    namespace: "ns",
  });
  assert.equal(ok.resources[0].metadata.name, name);
});

Deno.test("no fixture's output carries a secret value from its input", async () => {
  const root = new URL("../../testdata/kagent/", import.meta.url);
  for await (const e of Deno.readDir(root)) {
    if (!e.isDirectory) continue;
    for (const f of ["expected.stdout", "expected.stderr"]) {
      const text = await Deno.readTextFile(new URL(`${e.name}/${f}`, root));
      for (const secret of ["INLINE-SECRET", "sk-live", "ghp_"]) {
        assert.ok(!text.includes(secret), `${e.name}/${f} contains ${secret}`);
      }
    }
  }
});

Deno.test("an emitted object that does not fit the CRD is an INTERNAL error naming the fields", () => {
  const r = translateKagent([byo(["x.example"])]);
  assert.doesNotThrow(() => assertValidResources(r.resources));
  const broken = structuredClone(r.resources);
  (broken[0].spec as Record<string, unknown>).isolation = "enhanced";
  delete (broken[1].spec as Record<string, unknown>).appliesTo;
  assert.throws(() => assertValidResources(broken), (e: unknown) => {
    assert.ok(isKarsError(e, "INTERNAL"), String(e));
    assert.match(e.message, /^bug: the emitted KarsSandbox kars-a\/a does not validate/);
    assert.match(e.message, /spec\.isolation: unknown field "spec\.isolation"/);
    return true;
  });
  broken[0].spec = r.resources[0].spec;
  assert.throws(
    () => assertValidResources(broken),
    /InferencePolicy kars-a\/a .*spec\.appliesTo: Required value/,
  );
});
