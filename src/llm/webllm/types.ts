// The part of @mlc-ai/web-llm's API this app uses, typed structurally so src/ compiles and tests run in
// Node without the package (and with a fake engine). Field names are WebLLM's own: src/types.ts
// (MLCEngineInterface, InitProgressReport), src/config.ts (ModelRecord, AppConfig, MLCEngineConfig),
// src/openai_api_protocols/chat_completion.ts (ChatCompletionRequest, ChatCompletion, finish reasons).

export interface InitProgressReport {
  /** 0..1 within the current phase (downloading, then loading onto the GPU). */
  progress: number;
  timeElapsed: number;
  text: string;
}

export interface ModelRecord {
  model: string;
  model_id: string;
  model_lib: string;
  overrides?: { context_window_size?: number; [k: string]: unknown };
  vram_required_MB?: number;
  low_resource_required?: boolean;
  buffer_size_required_bytes?: number;
  required_features?: string[];
}

export interface AppConfig {
  model_list: ModelRecord[];
  cacheBackend?: 'cache' | 'indexeddb' | 'cross-origin';
}

export interface EngineConfig {
  appConfig?: AppConfig;
  initProgressCallback?: (report: InitProgressReport) => void;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A non-streaming chat completion request (OpenAI fields WebLLM implements). */
export interface ChatCompletionRequest {
  messages: ChatMessage[];
  stream: false;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  /** Integer; same seed and parameters → same output (WebLLM sets it once per request). */
  seed?: number;
  model?: string;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'abort';

export interface ChatCompletion {
  choices: { index: number; message: { role: string; content: string | null }; finish_reason: FinishReason }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens?: number };
}

/** MLCEngineInterface, the methods we call: served by MLCEngine in-thread and WebWorkerMLCEngine alike. */
export interface EngineLike {
  chat: { completions: { create(request: ChatCompletionRequest): Promise<ChatCompletion> } };
  reload(modelId: string): Promise<void>;
  /** Stops the running generation: it returns early with finish_reason "abort". */
  interruptGenerate(): void;
  /** Frees the GPU; during reload() it aborts the load (reload then returns quietly). */
  unload(): Promise<void>;
}

/** The package's exports we use (for `import('@mlc-ai/web-llm')`). */
export interface WebLlmModule {
  MLCEngine: new (config?: EngineConfig) => EngineLike;
  WebWorkerMLCEngine: new (worker: unknown, config?: EngineConfig) => EngineLike;
  prebuiltAppConfig: AppConfig;
}
