// Errors a client of `move37 serve` sees, in OpenAI's shape: {"error": {message, type, param, code}}.

export class ApiError extends Error {
  constructor(readonly status: 400 | 404 | 500 | 503, message: string, readonly param: string | null = null,
    readonly type = status === 404 ? "not_found_error" : status >= 500 ? "server_error" : "invalid_request_error",
    readonly code: string | null = null) {
    super(message);
    this.name = "ApiError";
  }

  body() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}
