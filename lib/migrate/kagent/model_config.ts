/**
 * kagent `ModelConfig` → kars `InferencePolicy` (`spec.modelPreference.primary` and, where kars
 * has a value for it, `spec.provider`), plus the model endpoint's allowlist candidates.
 *
 * | kagent provider | `spec.provider` | `modelPreference.primary` |
 * |---|---|---|
 * | AzureOpenAI | `azure-openai` | `azure-openai` / `azureOpenAI.azureDeployment` (else `model`) |
 * | Anthropic | `anthropic` | `anthropic` / `model` |
 * | Ollama | `ollama` | `ollama` / `model` |
 * | OpenAI, Gemini, GeminiVertexAI, AnthropicVertexAI, SAPAICore | — (warning) | `openai`, `gemini`, `gemini-vertex-ai`, `anthropic-vertex-ai`, `sap-ai-core` / `model` |
 *
 * The InferencePolicy has no field for an endpoint URL, an API key Secret, headers or sampling
 * parameters: each is a warning (secrets and credential headers are never copied anywhere).
 * Endpoints still go into the egress allowlist.
 *
 * @module
 */
import type { Json } from "../emit.ts";
import type { Candidate, Doc, Obj, Run } from "./common.ts";
import { translateMetadata } from "./documents.ts";
import { endpointFromUrl, withScheme } from "./endpoints.ts";

/** kagent provider → its settings block in `ModelConfig.spec`. */
export const PROVIDER_BLOCK: Record<string, string> = {
  OpenAI: "openAI",
  Anthropic: "anthropic",
  AzureOpenAI: "azureOpenAI",
  Ollama: "ollama",
  Gemini: "gemini",
  GeminiVertexAI: "geminiVertexAI",
  AnthropicVertexAI: "anthropicVertexAI",
  SAPAICore: "sapAICore",
};

/** kagent provider → `modelPreference.primary.provider` tag. */
export const PROVIDER_TAG: Record<string, string> = {
  OpenAI: "openai",
  Anthropic: "anthropic",
  AzureOpenAI: "azure-openai",
  Ollama: "ollama",
  Gemini: "gemini",
  GeminiVertexAI: "gemini-vertex-ai",
  AnthropicVertexAI: "anthropic-vertex-ai",
  SAPAICore: "sap-ai-core",
};

/** Values of the InferencePolicy's `spec.provider` enum (kars CRD). */
const KARS_PROVIDERS = new Set(["azure-openai", "anthropic", "ollama", "bedrock"]);

/** Header names whose values are credentials. */
const CREDENTIAL_HEADER =
  /^(authorization|proxy-authorization|cookie|x-api-key|api-key|x-goog-api-key|ocp-apim-subscription-key)$/i;

const DEFAULT_ENDPOINT: Record<string, string> = {
  OpenAI: "https://api.openai.com",
  Anthropic: "https://api.anthropic.com",
  Gemini: "https://generativelanguage.googleapis.com",
};

/** Keys of each provider block that name the endpoint. */
const ENDPOINT_KEYS: Record<string, string[]> = {
  OpenAI: ["baseUrl"],
  Anthropic: ["baseUrl"],
  AzureOpenAI: ["azureEndpoint"],
  Ollama: ["host"],
  SAPAICore: ["baseUrl", "authUrl"],
};

/** The translated model: InferencePolicy spec fields and allowlist candidates. */
export interface Inference {
  /** `spec.provider` (when kars has a value) and `spec.modelPreference`. */
  spec: { [k: string]: Json };
  /** Endpoint hosts for the allowlist. */
  endpoints: Candidate[];
}

/** Translates a ModelConfig. */
export function translateModelConfig(run: Run, mc: Doc): Inference {
  const path = `ModelConfig/${mc.name}`;
  const spec = run.obj(mc, "spec", mc.obj.spec);
  if (!spec) run.bad(mc, "spec", "missing or not a mapping");
  run.checkKeys(
    `${path} spec`,
    spec,
    [
      "model",
      "apiKeySecret",
      "apiKeySecretKey",
      "defaultHeaders",
      "provider",
      ...Object.values(PROVIDER_BLOCK),
    ],
    "InferencePolicy",
  );
  const provider = spec.provider ?? "OpenAI";
  if (typeof provider !== "string" || !(provider in PROVIDER_BLOCK)) {
    run.bad(
      mc,
      "spec.provider",
      `${JSON.stringify(provider)} is not a kagent provider (${
        Object.keys(PROVIDER_BLOCK).join(", ")
      })`,
    );
  }
  const model = spec.model;
  if (typeof model !== "string" || !model) {
    run.bad(mc, "spec.model", "missing (the model name is required)");
  }
  for (const [p, b] of Object.entries(PROVIDER_BLOCK)) {
    if (p !== provider && spec[b] !== undefined) {
      run.bad(mc, `spec.${b}`, `set, but spec.provider is ${provider} (kagent rejects this too)`);
    }
  }
  const blockName = PROVIDER_BLOCK[provider];
  const block: Obj = run.obj(mc, `spec.${blockName}`, spec[blockName]) ?? {};
  const endpoints: Candidate[] = [];
  const addUrl = (field: string, raw: unknown, scheme: "https" | "http" = "https"): string => {
    const c = endpointFromUrl(run, mc, field, raw, { defaultScheme: scheme });
    if (c) endpoints.push(c);
    return withScheme(String(raw), scheme);
  };
  /** A configured (non-default) endpoint: allowed, but the InferencePolicy cannot carry it. */
  const customEndpoint = (field: string, raw: unknown, scheme: "https" | "http" = "https") => {
    const url = addUrl(field, raw, scheme);
    run.warn(
      `${path} ${field}`,
      `endpoint ${url} dropped from the InferencePolicy (it has no endpoint field; the kars router's upstream is set by the cluster operator); its host stays in the egress allowlist`,
    );
  };
  let deployment = model;
  for (const [k, v] of Object.entries(block)) {
    if ((ENDPOINT_KEYS[provider] ?? []).includes(k)) continue;
    if (provider === "AzureOpenAI" && k === "azureDeployment" && typeof v === "string" && v) {
      deployment = v;
      continue;
    }
    if (provider === "AzureOpenAI" && k === "azureAdToken") {
      run.warn(
        `${path} spec.azureOpenAI.azureAdToken`,
        "inline Azure AD token dropped (secrets are never copied; bind the credential to the sandbox instead)",
      );
      continue;
    }
    if ((provider === "GeminiVertexAI" || provider === "AnthropicVertexAI") && k === "location") {
      continue;
    }
    run.warn(
      `${path} spec.${blockName}.${k}`,
      "dropped (InferencePolicy has no model parameters)",
    );
  }
  switch (provider) {
    case "OpenAI":
    case "Anthropic":
      if (block.baseUrl !== undefined) customEndpoint(`spec.${blockName}.baseUrl`, block.baseUrl);
      else {
        const endpoint = addUrl(`spec.${blockName}.baseUrl`, DEFAULT_ENDPOINT[provider]);
        run.note(
          `${path} spec.${blockName}.baseUrl`,
          `not set: provider default ${endpoint} allowed`,
        );
      }
      break;
    case "AzureOpenAI":
      if (block.azureEndpoint === undefined) {
        run.bad(
          mc,
          "spec.azureOpenAI.azureEndpoint",
          "missing (required for provider AzureOpenAI)",
        );
      }
      customEndpoint("spec.azureOpenAI.azureEndpoint", block.azureEndpoint);
      break;
    case "Ollama":
      if (block.host !== undefined) customEndpoint("spec.ollama.host", block.host, "http");
      else {
        run.note(
          `${path} spec.ollama.host`,
          "not set: the Ollama server's address is unknown, so no endpoint was added for it",
        );
      }
      break;
    case "Gemini": {
      const endpoint = addUrl("spec.gemini", DEFAULT_ENDPOINT.Gemini);
      run.note(`${path} spec.provider`, `Gemini: ${endpoint} allowed`);
      break;
    }
    case "GeminiVertexAI":
    case "AnthropicVertexAI": {
      const loc = block.location;
      if (loc !== undefined && (typeof loc !== "string" || !/^[a-z0-9-]+$/.test(loc))) {
        run.bad(mc, `spec.${blockName}.location`, `${JSON.stringify(loc)} is not a region name`);
      }
      const endpoint = !loc || loc === "global"
        ? "https://aiplatform.googleapis.com"
        : `https://${loc}-aiplatform.googleapis.com`;
      addUrl(`spec.${blockName}.location`, endpoint);
      run.note(`${path} spec.${blockName}.location`, `Vertex AI endpoint ${endpoint} allowed`);
      break;
    }
    case "SAPAICore":
      if (block.baseUrl === undefined) {
        run.bad(mc, "spec.sapAICore.baseUrl", "missing (required for provider SAPAICore)");
      }
      customEndpoint("spec.sapAICore.baseUrl", block.baseUrl);
      if (block.authUrl !== undefined) customEndpoint("spec.sapAICore.authUrl", block.authUrl);
      break;
  }
  const tag = PROVIDER_TAG[provider];
  const out: { [k: string]: Json } = {};
  if (KARS_PROVIDERS.has(tag)) out.provider = tag;
  else {
    run.warn(
      `${path} spec.provider`,
      `${provider} has no InferencePolicy spec.provider value (kars has ${
        [...KARS_PROVIDERS].join(", ")
      }): spec.provider left unset, modelPreference.primary.provider is "${tag}"`,
    );
  }
  out.modelPreference = { primary: { provider: tag, deployment } };
  if (deployment !== model) {
    run.note(
      `${path} spec.model`,
      `model ${model} served by Azure deployment ${deployment}: modelPreference.primary.deployment is the deployment`,
    );
  }
  if (spec.apiKeySecret !== undefined || spec.apiKeySecretKey !== undefined) {
    if (typeof spec.apiKeySecret !== "string" || typeof spec.apiKeySecretKey !== "string") {
      run.bad(mc, "spec.apiKeySecret", "apiKeySecret and apiKeySecretKey must be set together");
    }
    run.warn(
      `${path} spec.apiKeySecret`,
      `API key reference (Secret ${spec.apiKeySecret}, key ${spec.apiKeySecretKey}) dropped: InferencePolicy has no credential field (bind the credential through the KarsSandbox's spec.credentialBindings)`,
    );
  }
  const headers = run.obj(mc, "spec.defaultHeaders", spec.defaultHeaders);
  for (const h of Object.keys(headers ?? {})) {
    run.warn(
      `${path} spec.defaultHeaders.${h}`,
      CREDENTIAL_HEADER.test(h)
        ? "credential header dropped (secrets are never copied; bind the credential to the sandbox instead)"
        : "dropped (InferencePolicy has no request headers)",
    );
  }
  translateMetadata(run, mc);
  return { spec: out, endpoints };
}
