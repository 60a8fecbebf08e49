export { differing, randomImages, smallModel, snapshot } from '../src/testing';
