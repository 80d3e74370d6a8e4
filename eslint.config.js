// Style checks beyond the type checker: typescript-eslint's recommended rules,
// plus the layering rule of docs/architecture.md (core code never imports Fastify).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const FASTIFY_GLUE = ["src/server/**", "src/cli/**", "src/**/plugin.ts", "src/**/routes.ts", "src/**/routes/**", "src/**/schemas.ts"];

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", ".rampart/**", ".stryker-tmp/**", "reports/**", ".coverage-children/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "no-restricted-syntax": ["error", { selector: "CallExpression[callee.property.name='only'][callee.object.name=/^(it|test|describe)$/]", message: "no focused tests" }],
    },
  },
  {
    // Tests read JSON payloads of any shape.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
  },
  {
    files: ["src/**/*.ts"],
    ignores: FASTIFY_GLUE,
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["fastify", "fastify-plugin", "@fastify/*"], message: "core code never imports Fastify (docs/architecture.md, layers): put the glue in plugin.ts / routes.ts" }] }],
    },
  },
);
