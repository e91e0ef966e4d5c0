// ml-xgboost ships no types for its emscripten loader; xgboost.ts declares the part it uses.
declare module 'ml-xgboost/dist/wasm/xgboost.js' {
  const module: unknown;
  export default module;
}
