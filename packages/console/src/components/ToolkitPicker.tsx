import type { ToolkitView } from "@kronos/shared/contracts";
import { useId, useState } from "react";
import { useToolkits } from "../api/hooks";
import { ErrorNotice } from "./common";

/**
 * Search the catalogue (debounced; the gateway answers from its cache of Composio's catalogue) and pick one toolkit
 * from the results: a radio group, so arrows and Tab work as everywhere else.
 */
export function ToolkitPicker({ value, onChange }: { value: ToolkitView | null; onChange: (toolkit: ToolkitView) => void }) {
  const [search, setSearch] = useState("");
  const toolkits = useToolkits(search);
  const searchId = useId();
  const name = useId();
  return (
    <fieldset className="picker">
      <legend>Toolkit</legend>
      <label htmlFor={searchId}>Search toolkits</label>
      <input
        id={searchId}
        type="search"
        value={search}
        onChange={(event) => setSearch(event.target.value)}
        placeholder="github, slack…"
        autoComplete="off"
      />
      {toolkits.isError && <ErrorNotice error={toolkits.error} title="The catalogue could not be read" />}
      {toolkits.isPending && <p className="muted">Loading toolkits…</p>}
      {toolkits.data && toolkits.data.items.length === 0 && <p className="muted">No toolkit matches “{search}”.</p>}
      {toolkits.data && toolkits.data.items.length > 0 && (
        <div className="choices">
          {toolkits.data.items.map((toolkit) => (
            <label key={toolkit.slug} className={`choice ${value?.slug === toolkit.slug ? "selected" : ""}`}>
              <input
                type="radio"
                name={name}
                value={toolkit.slug}
                checked={value?.slug === toolkit.slug}
                onChange={() => onChange(toolkit)}
              />
              <span>
                <strong>{toolkit.name}</strong> <span className="muted">{toolkit.slug}</span>
              </span>
            </label>
          ))}
        </div>
      )}
    </fieldset>
  );
}
