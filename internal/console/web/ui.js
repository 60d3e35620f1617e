// Small helpers the views share: element lookup and the status line.

export const $ = (id) => document.getElementById(id);

/** status shows a message (an error in red) above the views. */
export function status(msg, isError = false) {
  const el = $('status');
  el.textContent = msg;
  el.className = isError ? 'status error' : 'status';
}

/** guard runs fn, showing its error as the status. */
export async function guard(fn) {
  try {
    return await fn();
  } catch (e) {
    status(e.message, true);
    return undefined;
  }
}
