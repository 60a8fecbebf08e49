export { differing, randomImages, smallModel, snapshot } from '@multichexnet/model/testing';
