// ESLint flat config: typescript-eslint's type-checked rules over everything TypeScript we ship or run.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["vitest.config.ts"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      // Passing on a caught error as it is, whatever it is, is what a rejection should do.
      "@typescript-eslint/prefer-promise-reject-errors": ["error", { allowThrowingUnknown: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // Tests and the benchmark read JSON-RPC answers as `any` on purpose: the wire shape is what they check.
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-explicit-any": "off",
      // Stand-ins implement async interfaces without awaiting anything; the contract suite awaits
      // whatever a store returns, promise or not; spies keep a method aside to put it back.
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/await-thenable": "off",
      "@typescript-eslint/unbound-method": "off",
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
  },
  {
    // The inspector's page runs in a browser (its types are checked by src/inspector/page/tsconfig.json).
    files: ["src/inspector/page/**/*.js"],
    languageOptions: {
      globals: Object.fromEntries(
        [
          "addEventListener",
          "clearInterval",
          "document",
          "EventSource",
          "fetch",
          "history",
          "location",
          "removeEventListener",
          "sessionStorage",
          "setInterval",
          "setTimeout",
          "URLSearchParams",
        ].map((name) => [name, "readonly"]),
      ),
    },
  },
);
