// Arrow keys, Home and End move between the tabs of a tablist, as the WAI-ARIA
// tabs pattern has it: the next tab is selected and focused, wrapping round.
import type { KeyboardEvent } from 'react';

export function tabKeys<T>(tabs: readonly T[], current: T, select: (tab: T) => void) {
  return (event: KeyboardEvent<HTMLElement>) => {
    const at = tabs.indexOf(current);
    const next =
      event.key === 'ArrowRight' ? (at + 1) % tabs.length
      : event.key === 'ArrowLeft' ? (at - 1 + tabs.length) % tabs.length
      : event.key === 'Home' ? 0
      : event.key === 'End' ? tabs.length - 1
      : -1;
    if (next < 0) return;
    event.preventDefault();
    select(tabs[next]);
    const buttons = event.currentTarget.querySelectorAll<HTMLElement>('[role="tab"]');
    buttons[next]?.focus();
  };
}
