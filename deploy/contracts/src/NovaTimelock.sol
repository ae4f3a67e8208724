// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title NovaTimelock
/// @notice The governor's TimelockController (OpenZeppelin), compiled here so its artifact sits
/// beside the others. The deployer grants the proposer/canceller role to NovaGovernor and the
/// executor role to everyone, then renounces its admin role.
contract NovaTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
