/*
 * The billing formats: one descriptor per file in billing-formats/, the registry in
 * billing-formats/index.ts. This module keeps the import path the rest of the code uses.
 */
export * from './billing-formats/index.ts';
