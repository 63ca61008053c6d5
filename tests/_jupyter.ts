/**
 * The Python that runs Debian's `jupyter` (its shebang), for the tests that drive the kit's
 * relay through a real Jupyter client (nbclient, jupyter_client).
 *
 * @module
 */

/** The Python that runs `jupyter`, if nbclient, jupyter_client and nbconvert import there. */
export function jupyterPython(): string | null {
  try {
    const which = new Deno.Command("sh", { args: ["-c", "command -v jupyter"] }).outputSync();
    const jupyter = new TextDecoder().decode(which.stdout).trim();
    if (!jupyter) return null;
    const first = Deno.readTextFileSync(jupyter).split("\n")[0];
    // `#!/usr/bin/python3`, or `#!/usr/bin/env python3`; no shebang: Debian's interpreter.
    const words = first.startsWith("#!") ? first.slice(2).trim().split(/\s+/) : [];
    const python = (words[0]?.endsWith("/env") ? words[1] : words[0]) ?? "/usr/bin/python3";
    const probe = new Deno.Command(python, {
      args: ["-c", "import nbclient, jupyter_client, nbconvert"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return probe.success ? python : null;
  } catch {
    return null;
  }
}
