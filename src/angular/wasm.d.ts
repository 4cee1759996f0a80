// `import wasmUrl from 'health-proxy/health_proxy_bg.wasm' with { loader: 'file' };`:
// Angular's builder copies the wasm to media/ under a content-hashed name and gives its URL.
declare const wasmUrl: string;
export default wasmUrl;
