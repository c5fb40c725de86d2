/**
 * Small model configs shared by tests.
 *
 * @module
 */
import type { GPTConfig } from "../../lib/nn/models/gpt.ts";

/** A tiny GPT (2 layers, 2 heads, width 16, no dropout, biases, tied head), with `overrides` applied. */
export function tinyConfig(overrides: Partial<GPTConfig> = {}): GPTConfig {
  return {
    vocabSize: 13,
    blockSize: 8,
    nLayer: 2,
    nHead: 2,
    nEmbd: 16,
    dropout: 0,
    bias: true,
    tieWeights: true,
    ...overrides,
  };
}
