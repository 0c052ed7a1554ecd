import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes (Keyword) that make runs findable in the Temporal UI. */
export const DrPair = defineSearchAttributeKey('DrPair', SearchAttributeType.KEYWORD);
export const DrPhase = defineSearchAttributeKey('DrPhase', SearchAttributeType.KEYWORD);
export const DrTrigger = defineSearchAttributeKey('DrTrigger', SearchAttributeType.KEYWORD);
export const DrMode = defineSearchAttributeKey('DrMode', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTE_NAMES = [DrPair.name, DrPhase.name, DrTrigger.name, DrMode.name];

export const TASK_QUEUE = 'dr-orchestrator';

export type Trigger = 'cli' | 'ui' | 'alertmanager' | 'schedule' | 'test';
