export * from "./cosign/vocabulary.ts";
