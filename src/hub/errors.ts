// Named errors of hub ids, the local Hugging Face cache and downloads: each says what is wrong and what to do.

export class HubError extends Error {
  override name = "HubError";
}

/** A string that is neither an existing path nor a well-formed hub id. */
export class HubIdError extends HubError {
  override name = "HubIdError";
  constructor(id: string, detail: string) {
    super(`"${id}" is not a hub id (${detail}); write owner/name, owner/name@revision, or for a dataset owner/name:config (e.g. openai/gsm8k:main), or give a local folder that exists`);
  }
}

/** HF_HUB_OFFLINE=1 and the id is not in the cache. */
export class HubOfflineError extends HubError {
  override name = "HubOfflineError";
  constructor(what: string, cacheDir: string, detail = "") {
    super(`${what} is not in the Hugging Face cache ${cacheDir}${detail ? ` (${detail})` : ""} and HF_HUB_OFFLINE=1 forbids downloading it; ` +
      `download it once with network (move37 download ${what.replace(/^(model|dataset) /, "")}${what.startsWith("dataset ") ? " --dataset" : ""}), point HF_HUB_CACHE/HF_HOME at the cache that holds it, or give a local folder`);
  }
}

/** 401/403 on a gated repo: the licence must be accepted on the hub and a token given. */
export class HubGatedError extends HubError {
  override name = "HubGatedError";
  constructor(what: string, url: string, status: number, hasToken: boolean) {
    super(`${what} is gated (HTTP ${status} from ${url}): ` +
      (hasToken
        ? "your HF_TOKEN has no access yet; accept the licence on the repo's page on huggingface.co with the account of that token, then try again"
        : "accept the licence on the repo's page on huggingface.co, create a read token at https://huggingface.co/settings/tokens and set HF_TOKEN=hf_… (or run `hf auth login`)"));
  }
}

/** 404 (or 401 without a token): no such repo, revision or file. */
export class HubNotFoundError extends HubError {
  override name = "HubNotFoundError";
  constructor(message: string) {
    super(message);
  }
}

/** A downloaded file whose size or hash is not what the hub said. */
export class HubChecksumError extends HubError {
  override name = "HubChecksumError";
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}; the download was discarded, run the command again (a proxy or disk that alters files would fail again)`);
  }
}

/** Any other failed request (network down, 5xx, a cut the retries did not heal). */
export class HubDownloadError extends HubError {
  override name = "HubDownloadError";
  constructor(message: string) {
    super(message);
  }
}
